import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OutpostCore

/// Enforces `ConnectionTimeouts` on one connection, closes connections whose request
/// did not ask to be kept alive, and answers a request head the decoder refused
/// (too long a URL, too large headers, malformed) with the API's JSON error instead of
/// dropping the connection.
///
/// Sits right after NIO's HTTP/1 decoder and encoder, where request heads still carry
/// their HTTP version and `Connection` header (the typed HTTP parts further in do not).
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var machine: ConnectionTimeouts
    /// The decoder's limit on one header field, the URL included (Hummingbird's default, 80 KiB).
    private let fieldLimit: Int
    private let metrics: HubMetrics?
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Set once the handler answered a refused head itself: later decoder errors are noise.
    private var answeredParseError = false

    init(limits: ConnectionTimeouts.Limits, fieldLimit: Int, metrics: HubMetrics?, logger: Logger) {
        machine = ConnectionTimeouts(limits: limits, openedAt: .now())
        self.fieldLimit = fieldLimit
        self.metrics = metrics
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    /// Raw bytes reached the connection (called by `InboundBytesHandler`, before they are decoded).
    func bytesArrived(_ buffer: ByteBuffer) {
        var lineFeedOffset: Int?
        if machine.isAwaitingHead, !machine.requestLineComplete {
            let bytes = buffer.readableBytesView
            lineFeedOffset = bytes.firstIndex(of: UInt8(ascii: "\n")).map { bytes.distance(from: bytes.startIndex, to: $0) }
        }
        machine.bytesArrived(at: .now(), count: buffer.readableBytes, lineFeedOffset: lineFeedOffset)
        arm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): machine.headReceived(keepAlive: head.isKeepAlive)
        case .body: break
        case .end: machine.requestEnded(at: .now())
        }
        context.fireChannelRead(data)
        arm()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where !machine.keepAlive:
            // Tell the client the connection ends with this response (HTTP/1.0 clients
            // such as `ab` otherwise wait for more).
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .head, .body:
            context.write(data, promise: promise)
        case .end:
            switch machine.responseEnded(at: .now()) {
            case .close:
                let written = promise ?? context.eventLoop.makePromise()
                let channel = context.channel
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
                context.writeAndFlush(data, promise: written)
            case .none:
                context.write(data, promise: promise)
                arm()
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // After answering a refused head, the decoder complains about every byte it is
        // fed while the connection lingers: nothing to report.
        if answeredParseError { return }
        // Mid-request (a malformed chunked body, say) Hummingbird's own handling applies.
        guard let parseError = error as? HTTPParserError, machine.isAwaitingHead else {
            context.fireErrorCaught(error)
            return
        }
        answeredParseError = true
        let refusal = Self.refusal(for: parseError, requestLineBytes: machine.requestLineBytes, fieldLimit: fieldLimit)
        logger.debug("refused a request head", metadata: ["status": "\(refusal.status.code)"])
        respondAndClose(context: context, refusal)
    }

    // MARK: Refused heads

    struct Refusal {
        var status: HTTPResponseStatus
        var code: HubError.Code
        var message: String
    }

    /// Which 4xx a head the decoder refused gets. A header overflow with a request line
    /// at least as long as the decoder's field limit is an overlong URL.
    static func refusal(for error: HTTPParserError, requestLineBytes: Int, fieldLimit: Int) -> Refusal {
        switch error {
        case .headerOverflow where requestLineBytes >= fieldLimit:
            Refusal(
                status: .uriTooLong, code: .uriTooLong,
                message: "the request URL is too long (the request line may hold at most 80 KiB)")
        case .headerOverflow:
            Refusal(
                status: .requestHeaderFieldsTooLarge, code: .headersTooLarge,
                message: "the request headers are too large (at most 1,000 fields and 80 KiB in all)")
        default:
            Refusal(status: .badRequest, code: .invalidRequest, message: "malformed HTTP request: \(error)")
        }
    }

    private func respondAndClose(context: ChannelHandlerContext, _ refusal: Refusal) {
        disarm()
        let body = APIErrorBody(code: refusal.code.rawValue, message: refusal.message, expectedOffset: nil)
        let data = (try? WireJSON.encoder().encode(body)) ?? Data("{}".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json; charset=utf-8")
        headers.add(name: "content-length", value: String(data.count))
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: refusal.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        let channel = context.channel
        // Lingering close: the client may still be sending the rest of its head. Closing
        // with unread input makes the kernel send a reset, which can destroy the answer
        // before the client reads it; so end the output, read and drop the input for a
        // moment, then close.
        written.futureResult.whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: Self.lingerTime) { channel.close(promise: nil) }
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
    }

    /// How long input is drained after a refused head's answer before the connection closes.
    static let lingerTime = TimeAmount.seconds(2)

    // MARK: Timer

    /// Makes sure a timer fires no later than the machine's deadline.
    private func arm() {
        guard let context, let deadline = machine.deadline else { return }
        if let timerDeadline, timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(deadline: deadline) { [self] in
            fire()
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    private func fire() {
        timer = nil
        timerDeadline = nil
        guard let expiry = machine.timerFired(at: .now()) else {
            arm()
            return
        }
        logger.debug("closed a slow or idle connection", metadata: ["timeout": "\(expiry.rawValue)"])
        metrics?.recordTimeout(expiry)
        context?.close(promise: nil)
    }
}

@available(*, unavailable)
extension ConnectionGuardHandler: Sendable {}

/// Tells `ConnectionGuardHandler` when raw bytes arrive, before the HTTP decoder
/// turns them into parts (a head that trickles in yields no part until it is complete).
final class InboundBytesHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connectionGuard: ConnectionGuardHandler

    init(reportingTo connectionGuard: ConnectionGuardHandler) {
        self.connectionGuard = connectionGuard
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connectionGuard.bytesArrived(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension InboundBytesHandler: Sendable {}
