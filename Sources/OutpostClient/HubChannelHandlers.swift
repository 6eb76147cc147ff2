import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import OutpostCore

/// The agent channel's calls in flight, on the socket's event loop: matches each
/// reply to its call, answers pings, and fails every waiting call when the socket
/// ends or a call waits past its timeout (which closes the socket: a hub that
/// answers nothing for that long is gone).
final class ChannelCallHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private struct Pending {
        let promise: EventLoopPromise<ChannelReply>
        let timer: Scheduled<Void>?
    }

    private let baseURL: String
    private var pending: [UInt64: Pending] = [:]
    private var context: ChannelHandlerContext?
    private var closedBecause: String?
    private var retired = false
    /// Ids of `cancel` calls, from the top of the range, apart from the caller's ids.
    private var nextCancelID: UInt64 = 1 << 63

    /// The frame encoder's context: a frame masked here (`MaskedFrame`) is written
    /// from it, so it goes to the socket without passing through the encoder.
    private let frameWriter: ChannelHandlerContext

    init(baseURL: String, frameWriter: ChannelHandlerContext) {
        self.baseURL = baseURL
        self.frameWriter = frameWriter
    }

    /// Sends a whole frame built by `MaskedFrame`.
    func writeFrame(_ frame: ByteBuffer) -> EventLoopFuture<Void> {
        frameWriter.writeAndFlush(NIOAny(frame))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll("the channel was taken down")
        self.context = nil
    }

    // MARK: Calls

    func register(_ id: UInt64, promise: EventLoopPromise<ChannelReply>, timeout: TimeAmount) {
        guard let context, closedBecause == nil else {
            promise.fail(lost(closedBecause ?? "the channel is closed"))
            return
        }
        let timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self else { return }
            self.fail(id, ClientError(.unreachable, "the hub at \(self.baseURL) did not answer over its channel in time"))
            self.context?.close(promise: nil)
        }
        pending[id] = Pending(promise: promise, timer: timer)
    }

    func fail(_ id: UInt64, _ error: ClientError) {
        guard let call = pending.removeValue(forKey: id) else { return }
        call.timer?.cancel()
        call.promise.fail(error)
        closeIfRetiredAndIdle()
    }

    /// Asks the hub to answer call `id` now (a poll no longer needed); its answer still
    /// comes back to the waiting call, with any work already claimed for it.
    func cancelRemotely(_ id: UInt64, channel: any Channel) {
        guard pending[id] != nil else { return }
        nextCancelID += 1
        var call = ChannelCall(id: nextCancelID, op: .cancel)
        call.cancels = id
        guard let json = try? WireJSON.encoder().encode(call) else { return }
        let frame = MaskedFrame.make(binary: false, payloadLength: json.count, allocator: channel.allocator) {
            $0.writeBytes(json)
        }
        writeFrame(frame).whenFailure { _ in }
    }

    /// Closes the socket once no call waits on it.
    func retire() {
        retired = true
        closeIfRetiredAndIdle()
    }

    private func closeIfRetiredAndIdle() {
        if retired, pending.isEmpty { context?.close(promise: nil) }
    }

    // MARK: Frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            guard let reply = try? WireJSON.decoder().decode(ChannelReply.self, from: Data(frame.unmaskedData.readableBytesView))
            else {
                failAll("the hub sent a reply this agent cannot read")
                context.close(promise: nil)
                return
            }
            guard let call = pending.removeValue(forKey: reply.id) else { return }
            call.timer?.cancel()
            call.promise.succeed(reply)
            closeIfRetiredAndIdle()
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode()
            failAll(code == .goingAway ? "the hub is shutting down" : "the hub closed the channel")
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll("the connection closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll("\(error)")
        context.close(promise: nil)
    }

    private func failAll(_ reason: String) {
        if closedBecause == nil { closedBecause = reason }
        let calls = pending
        pending = [:]
        for call in calls.values {
            call.timer?.cancel()
            call.promise.fail(lost(reason))
        }
    }

    private func lost(_ reason: String) -> ClientError {
        ClientError(.unreachable, "lost the channel to the hub at \(baseURL): \(reason)")
    }
}

/// Reads the answer to an upgrade the hub (or a proxy) did not grant: its status and
/// up to 64 KiB of its body, for the message that says why.
final class RefusalCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<(Int, ByteBuffer)>
    private var status = 0
    private var body = ByteBuffer()
    private var done = false

    init(promise: EventLoopPromise<(Int, ByteBuffer)>) {
        self.promise = promise
    }

    var answer: EventLoopFuture<(Int, ByteBuffer)> { promise.futureResult }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var part):
            if body.readableBytes < 64 * 1024 { body.writeBuffer(&part) }
        case .end:
            finish(.success((status, body)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(status != 0 ? .success((status, body)) : .failure(ChannelError.inputClosed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<(Int, ByteBuffer), any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }
}
