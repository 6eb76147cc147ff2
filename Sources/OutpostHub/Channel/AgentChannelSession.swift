import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import OutpostCore
import ServiceLifecycle

/// Serves one agent's channel: reads calls, runs each through the same hub
/// operation its HTTP route runs, and writes one reply per call.
///
/// Calls run concurrently (a poll waits while logs and finishes flow), at most
/// `maxCallsInFlight` at once: past that the session stops reading, so a flooding
/// agent is slowed by TCP rather than growing the hub's memory. Every call re-checks
/// the agent's session and certificate, as each HTTP call does. The channel ends
/// when the agent closes it, on a protocol error, when nothing arrives for
/// `silenceLimit`, or when the hub shuts down (a close frame, then the socket).
struct AgentChannelSession: Sendable {
    let hub: Hub
    let accepted: AgentChannelUpgrade.Accepted
    let channel: any Channel
    let logger: Logger

    static let maxCallsInFlight = 64

    func serve(_ socket: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>) async {
        let polls = PollRegistry()
        do {
            try await socket.executeThenClose { inbound, outbound in
                let writer = ChannelReplyWriter(outbound: outbound)
                try await withGracefulShutdownHandler {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        var inFlight = 0
                        defer { group.cancelAll() }
                        for try await frame in inbound {
                            switch frame.opcode {
                            case .text, .binary:
                                if inFlight >= Self.maxCallsInFlight {
                                    try await group.next()
                                    inFlight -= 1
                                }
                                inFlight += 1
                                let data = Self.unmasked(frame)
                                let binary = frame.opcode == .binary
                                let call = Result { try Self.decode(data, binary: binary) }
                                // In frame order, here: a poll is started (and registered) before a
                                // later `cancel` of it is read, though the calls then run concurrently.
                                if case .success((let decoded, _)) = call {
                                    if decoded.op == .poll {
                                        polls.start(decoded.id) { try await self.perform(decoded, chunk: nil) }
                                    } else if decoded.op == .cancel, let target = decoded.cancels {
                                        polls.cancel(target)
                                    }
                                }
                                group.addTask { await self.run(call, data, binary: binary, writer: writer, polls: polls) }
                            case .ping:
                                try await writer.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
                            case .connectionClose:
                                try? await writer.close(code: .normalClosure)
                                return
                            default:
                                break
                            }
                        }
                    }
                } onGracefulShutdown: {
                    // Polls answer empty (the dispatcher's shutdown); then say goodbye.
                    channel.eventLoop.execute {
                        let frame = WebSocketFrame(
                            fin: true, opcode: .connectionClose, data: Self.closeData(.goingAway, channel.allocator))
                        channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
                    }
                }
            }
        } catch {
            logger.debug("agent channel ended", metadata: ["agent": "\(accepted.agent.name)", "error": "\(error)"])
        }
        polls.cancelAll()
    }

    // MARK: One call

    private func run(
        _ decoded: Result<(ChannelCall, [UInt8]?), any Error>, _ data: ByteBuffer, binary: Bool, writer: ChannelReplyWriter,
        polls: PollRegistry
    ) async {
        let reply: ChannelReply
        switch decoded {
        case .success((let call, let chunk)):
            do {
                switch call.op {
                case .poll: reply = try await polls.answer(call.id)  // started by the reader
                case .cancel: reply = ChannelReply(id: call.id)  // applied by the reader
                default: reply = try await perform(call, chunk: chunk)
                }
            } catch {
                reply = ChannelReply(id: call.id, error: fault(error, call: call))
            }
        case .failure(let error):
            if let id = Self.callID(data, binary: binary) {
                try? await writer.write(
                    ChannelReply(id: id, error: ChannelFault(HubError.invalid("unreadable channel call: \(error)"))))
                return
            }
            // No id to answer: the agent broke the framing; tell it and end the channel.
            logger.warning(
                "unreadable call on an agent channel; closing it",
                metadata: ["agent": "\(accepted.agent.name)", "error": "\(error)"])
            try? await writer.close(code: .protocolError)
            return
        }
        try? await writer.write(reply)
    }

    private func perform(_ call: ChannelCall, chunk: [UInt8]?) async throws -> ChannelReply {
        let agent = try await AgentChannelUpgrade.authenticate(token: accepted.token, channel: channel, hub: hub)
        switch call.op {
        case .poll:
            let request = try Self.required(call.poll, "poll")
            return ChannelReply(id: call.id, poll: try await hub.poll(agent: agent, request: request))
        case .start:
            _ = try await hub.startTask(
                id: try Self.required(call.taskID, "task_id"), agent: agent, submitter: call.start ?? .none)
            return ChannelReply(id: call.id)
        case .log:
            let next = try await hub.appendLog(
                taskID: try Self.required(call.taskID, "task_id"), agent: agent,
                offset: try Self.required(call.offset, "offset"), bytes: chunk ?? [])
            return ChannelReply(id: call.id, nextOffset: next)
        case .finish:
            let outcome = try await hub.finishTask(
                id: try Self.required(call.taskID, "task_id"), agent: agent, finish: try Self.required(call.finish, "finish"))
            var reply = ChannelReply(id: call.id)
            if outcome.pollTookSlot { reply.pollTookSlot = true }
            return reply
        case .secretListing:
            try await hub.reportSecretListing(
                try Self.required(call.requestID, "request_id"), from: agent, listing: try Self.required(call.listing, "listing"))
            return ChannelReply(id: call.id)
        case .deregister:
            try await hub.takeAgentOffline(agentID: agent.id, reason: "agent \(agent.name) deregistered")
            return ChannelReply(id: call.id)
        case .cancel:
            return ChannelReply(id: call.id)
        }
    }

    /// The frame's payload, unmasked eight bytes at a time (`WebSocketMask`; NIO's
    /// `unmaskedData` goes byte by byte). No extension is negotiated, so the payload
    /// is the whole of the masked data.
    static func unmasked(_ frame: WebSocketFrame) -> ByteBuffer {
        var data = frame.data
        guard let key = frame.maskKey else { return data }
        data.withUnsafeMutableReadableBytes { WebSocketMask.apply(key: key, to: $0) }
        return data
    }

    /// The call and, for a binary frame, its log chunk.
    static func decode(_ data: ByteBuffer, binary: Bool) throws -> (ChannelCall, [UInt8]?) {
        let bytes = data.readableBytesView
        guard binary else { return (try WireJSON.decodeRequest(ChannelCall.self, from: bytes), nil) }
        let (header, chunk) = try ChannelFrame.splitLogFrame(bytes)
        let call = try WireJSON.decodeRequest(ChannelCall.self, from: header)
        guard call.op == .log else {
            throw WireDecodingError(.invalidValue, field: "op", "a binary channel frame carries a log call, not \(call.op.rawValue)")
        }
        return (call, Array(bytes[chunk]))
    }

    /// The id of a call that could not be decoded strictly, to answer it with the reason.
    private static func callID(_ data: ByteBuffer, binary: Bool) -> UInt64? {
        struct Identified: Decodable { let id: UInt64 }
        var bytes = Array(data.readableBytesView)
        if binary {
            guard let (header, _) = try? ChannelFrame.splitLogFrame(bytes) else { return nil }
            bytes = header
        }
        return (try? WireJSON.decoder().decode(Identified.self, from: Data(bytes)))?.id
    }

    private static func required<T>(_ value: T?, _ field: String) throws -> T {
        guard let value else { throw HubError.invalid("this call needs the field \"\(field)\"") }
        return value
    }

    /// The failure as the HTTP route would have answered it.
    private func fault(_ error: any Error, call: ChannelCall) -> ChannelFault {
        let hubError = ErrorMiddleware.translate(error)
        if hubError.code == .internal {
            logger.error(
                "agent channel call failed",
                metadata: [
                    "op": "\(call.op.rawValue)", "agent": "\(accepted.agent.name)",
                    "error": "\(hubError.underlying.map { "\($0)" } ?? hubError.message)",
                ])
        }
        return ChannelFault(hubError)
    }

    static func closeData(_ code: WebSocketErrorCode, _ allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 2)
        buffer.write(webSocketErrorCode: code)
        return buffer
    }
}

/// Writes replies and control frames; shared by the concurrent calls of one channel.
private struct ChannelReplyWriter: Sendable {
    let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>

    func write(_ reply: ChannelReply) async throws {
        let data = try WireJSON.encoder().encode(reply)
        try await outbound.write(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: data)))
    }

    func write(_ frame: WebSocketFrame) async throws {
        try await outbound.write(frame)
    }

    func close(code: WebSocketErrorCode) async throws {
        try await outbound.write(
            WebSocketFrame(fin: true, opcode: .connectionClose, data: AgentChannelSession.closeData(code, ByteBufferAllocator())))
        outbound.finish()
    }
}

/// The polls in flight on one channel, so a `cancel` call (or the channel's end) stops them.
private final class PollRegistry: Sendable {
    private let tasks = NIOLockedValueBox<[UInt64: Task<ChannelReply, any Error>]>([:])

    /// Starts poll `id` now (the reader calls this in frame order).
    func start(_ id: UInt64, _ body: @escaping @Sendable () async throws -> ChannelReply) {
        let task = Task { try await body() }
        tasks.withLockedValue { $0[id] = task }
    }

    /// The answer of poll `id`, once it has one; cancelling the caller cancels the poll.
    func answer(_ id: UInt64) async throws -> ChannelReply {
        guard let task = tasks.withLockedValue({ $0[id] }) else { throw HubError(.internal, "poll \(id) was not started") }
        defer { _ = tasks.withLockedValue { $0.removeValue(forKey: id) } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    func cancel(_ id: UInt64) { tasks.withLockedValue { $0[id] }?.cancel() }
    func cancelAll() { for task in tasks.withLockedValue({ Array($0.values) }) { task.cancel() } }
}

extension ChannelFault {
    /// The status and API error an HTTP route answers for `error`.
    init(_ error: HubError) {
        self.init(
            status: Int(error.code.httpStatus.code), code: error.code.rawValue, message: error.message,
            expectedOffset: error.expectedOffset)
    }
}
