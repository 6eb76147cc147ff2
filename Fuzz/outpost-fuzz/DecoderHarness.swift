import Foundation
import OutpostCore

/// Every body the hub decodes, decoded from the same bytes. Errors are expected; a
/// crash or trap is the finding.
enum DecoderHarness {
    static func run(_ bytes: [UInt8]) {
        let data = Data(bytes)
        let decoder = WireJSON.decoder()
        _ = try? decoder.decode(RegisterRequest.self, from: data)
        _ = try? decoder.decode(PollRequest.self, from: data)
        _ = try? decoder.decode(FinishRequest.self, from: data)
        _ = try? decoder.decode(StartRequest.self, from: data)
        _ = try? decoder.decode(CreateTaskRequest.self, from: data)
        _ = try? decoder.decode(CreateAgentTypeRequest.self, from: data)
        _ = try? decoder.decode(Target.self, from: data)
        _ = try? decoder.decode(SecretListing.self, from: data)
        _ = try? decoder.decode(TagSet.self, from: data)
        // The agent channel: a call as the hub reads it (strictly), a binary log frame's
        // header, and a reply as the agent reads it.
        _ = try? WireJSON.decodeRequest(ChannelCall.self, from: bytes)
        if let (header, chunk) = try? ChannelFrame.splitLogFrame(bytes) {
            _ = try? WireJSON.decodeRequest(ChannelCall.self, from: header)
            precondition(chunk.upperBound == bytes.count && chunk.lowerBound >= 4, "a log frame's chunk must end the frame")
        }
        _ = try? decoder.decode(ChannelReply.self, from: data)
        // Signed tasks: the canonical form is a fixed point, and a payload the agent
        // accepts is exactly its own canonical serialization.
        if let value = try? JSONParser.parse(bytes), let canonical = try? CanonicalJSON.encode(value) {
            let again = (try? JSONParser.parse(canonical)).flatMap { try? CanonicalJSON.encode($0) }
            precondition(again == canonical, "canonical JSON is not a fixed point")
        }
        if let payload = try? SignedTaskPayload(canonical: bytes) {
            precondition((try? payload.canonicalBytes()) == bytes, "an accepted payload is not its own canonical form")
        }
        if let envelope = try? WireJSON.decodeRequest(SignedTaskEnvelope.self, from: bytes), let payload = envelope.payloadBytes {
            _ = SignedTaskEnvelope.preAuthenticationEncoding(payloadType: envelope.payloadType, payload: payload)
        }
        // A task stream as `outpost task run` reads it, whole and in two pieces: the
        // log bytes that come out must be the same either way.
        let whole = decodeTaskStream([bytes[...]])
        let split = decodeTaskStream([bytes[..<(bytes.count / 2)], bytes[(bytes.count / 2)...]])
        precondition(whole == nil || split == nil || whole == split, "a task stream decodes differently when split")
        if let text = String(bytes: bytes, encoding: .utf8) {
            _ = try? DurationParser.seconds(text)
            _ = WireJSON.parseDate(text)
        }
    }

    /// The log bytes and count of other events of a task stream, `nil` when malformed.
    private static func decodeTaskStream(_ pieces: [ArraySlice<UInt8>]) -> [UInt8]? {
        var decoder = TaskStreamDecoder()
        var log: [UInt8] = []
        var events: UInt8 = 0
        do {
            for piece in pieces {
                try decoder.feed(piece) { event in
                    if case .log(_, let bytes) = event { log += bytes } else { events &+= 1 }
                }
            }
        } catch {
            return nil
        }
        return log + [events, decoder.endedComplete() ? 1 : 0]
    }
}
