/// The agent's persistent channel: the agent protocol's calls (poll, start, log,
/// finish, secret listings, deregister) as messages over one WebSocket per agent
/// instead of one HTTP request each (docs/api.md, "The agent channel").
///
/// The agent opens `GET /api/v1/agent/channel` with its agent token and offers the
/// subprotocol `outpost-agent.v1`; the hub answers `101` selecting it, or refuses
/// with an API error that names both versions. Over the channel every call carries
/// an id and gets exactly one reply with that id; calls are answered in any order
/// (a poll waits while logs flow). Bodies are the long-poll protocol's own types,
/// so both transports share one contract and one set of checks.
///
/// Frames: a call without bytes is a text frame holding a `ChannelCall`; a log chunk
/// is a binary frame: a 4-byte big-endian length, that many bytes of `ChannelCall`
/// JSON (`op: "log"`, `task_id`, `offset`), then the chunk's raw bytes. Replies are
/// text frames holding a `ChannelReply`.
package enum AgentChannel {
    /// Version of the channel's framing and messages.
    package static let version = 1
    /// Path of the upgrade request.
    package static let path = "/api/v1/agent/channel"
    /// Prefix of the WebSocket subprotocol naming the version (`outpost-agent.v1`).
    package static let subprotocolPrefix = "outpost-agent.v"
    /// Largest frame either side reads: a log chunk of `maxLogChunkBytes` plus its header.
    package static let maxFrameBytes = maxLogChunkBytes + 64 * 1024
    /// Largest log chunk one call carries (as `POST .../log` takes at most).
    package static let maxLogChunkBytes = 8 * 1024 * 1024

    package static func subprotocol(version: Int) -> String { subprotocolPrefix + String(version) }

    /// The version a subprotocol token names (`outpost-agent.v1` → 1), or `nil`.
    package static func version(ofSubprotocol token: Substring) -> Int? {
        let trimmed = String(token).trimmingSpaces()
        guard trimmed.hasPrefix(subprotocolPrefix) else { return nil }
        return Int(trimmed.dropFirst(subprotocolPrefix.count))
    }

    /// The versions offered in a `Sec-WebSocket-Protocol` header (comma-separated).
    package static func offeredVersions(_ header: String) -> [Int] {
        header.split(separator: ",").compactMap { version(ofSubprotocol: $0) }
    }
}

/// What a channel call asks for.
package enum ChannelOperation: String, Codable, Sendable {
    case poll, start, log, finish, deregister
    /// Report a `list_secrets` answer (`request_id`, `listing`).
    case secretListing = "secret_listing"
    /// Stop waiting on call `cancels` (a poll the agent no longer needs): the hub
    /// answers that call at once, with any work it had already claimed for it.
    case cancel
}

/// One agent → hub call.
package struct ChannelCall: Codable, Sendable, Equatable {
    /// Chosen by the agent, unique among its calls in flight; echoed in the reply.
    package var id: UInt64
    package var op: ChannelOperation
    /// `start`, `log`, `finish`: the task.
    package var taskID: String?
    /// `log`: the byte offset of the chunk.
    package var offset: Int64?
    /// `cancel`: the call to stop waiting on.
    package var cancels: UInt64?
    /// `secret_listing`: the hub's request id.
    package var requestID: String?
    package var poll: PollRequest?
    package var start: StartRequest?
    package var finish: FinishRequest?
    package var listing: SecretListing?

    package init(id: UInt64, op: ChannelOperation) {
        self.id = id
        self.op = op
    }

    enum CodingKeys: String, CodingKey {
        case id, op, offset, cancels, poll, start, finish, listing
        case taskID = "task_id"
        case requestID = "request_id"
    }
}

/// The hub's one reply to a call.
package struct ChannelReply: Codable, Sendable, Equatable {
    /// The call answered.
    package var id: UInt64
    /// `poll`: work and controls.
    package var poll: PollResponse?
    /// `log`: the offset the hub expects next.
    package var nextOffset: Int64?
    /// `finish`: the agent's waiting poll took over the task's slot (see
    /// `AgentProtocol.pollTookSlotHeader`); absent otherwise.
    package var pollTookSlot: Bool?
    /// Set when the call failed: what `POST` of the same call would have answered.
    package var error: ChannelFault?

    package init(id: UInt64, poll: PollResponse? = nil, nextOffset: Int64? = nil, error: ChannelFault? = nil) {
        self.id = id
        self.poll = poll
        self.nextOffset = nextOffset
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case id, poll, error
        case nextOffset = "next_offset"
        case pollTookSlot = "poll_took_slot"
    }
}

/// A failed call: the HTTP status and API error the long-poll protocol would have
/// answered, so the agent handles both transports' failures alike.
package struct ChannelFault: Codable, Sendable, Equatable {
    package var status: Int
    package var code: String
    package var message: String
    package var expectedOffset: Int64?

    package init(status: Int, code: String, message: String, expectedOffset: Int64? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.expectedOffset = expectedOffset
    }

    enum CodingKeys: String, CodingKey {
        case status, code, message
        case expectedOffset = "expected_offset"
    }
}

/// The bytes of channel frames, without any networking (both sides and the fuzzer use it).
package enum ChannelFrame {
    /// A binary log frame: header length, the call's JSON, the chunk.
    package static func logFrame(header: [UInt8], chunk: some Collection<UInt8>) -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(4 + header.count + chunk.count)
        let length = UInt32(header.count)
        frame.append(contentsOf: [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)])
        frame.append(contentsOf: header)
        frame.append(contentsOf: chunk)
        return frame
    }

    /// Splits a binary log frame into its call's JSON and the chunk's range (in the
    /// frame's own indices), without copying the chunk: log frames are up to 8 MiB.
    /// - Throws: `WireDecodingError` when the header length runs past the frame.
    package static func splitLogFrame<Frame: RandomAccessCollection<UInt8>>(_ frame: Frame) throws(WireDecodingError)
        -> (header: [UInt8], chunk: Range<Frame.Index>)
    {
        guard frame.count >= 4 else {
            throw WireDecodingError(.malformed, field: "", "a binary channel frame must start with a 4-byte header length")
        }
        let length = frame.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard length <= frame.count - 4 else {
            throw WireDecodingError(
                .malformed, field: "", "the binary channel frame's header length \(length) runs past its \(frame.count) bytes")
        }
        let headerStart = frame.index(frame.startIndex, offsetBy: 4)
        let chunkStart = frame.index(headerStart, offsetBy: length)
        return (Array(frame[headerStart..<chunkStart]), chunkStart..<frame.endIndex)
    }
}
