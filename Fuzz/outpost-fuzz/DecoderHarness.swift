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
        if let text = String(bytes: bytes, encoding: .utf8) {
            _ = try? DurationParser.seconds(text)
            _ = WireJSON.parseDate(text)
        }
    }
}
