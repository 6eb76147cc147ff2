import Foundation
import OutpostCore
import HTTPTypes
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL
import NIOWebSocket

/// Hummingbird's HTTP/1 channel with the hub's connection limits: connection caps
/// (in all and per peer), header-read and idle timeouts, keep-alive honoured,
/// refused heads answered in JSON (`ConnectionGuardHandler`); over TLS when `tls`
/// is set (each connection gets the context current when it is accepted). A
/// connection whose first request is an accepted agent-channel upgrade
/// (`AgentChannelUpgrade`) becomes that agent's WebSocket instead.
struct HubHTTPChannel: ServerChildChannel {
    /// One accepted connection: `negotiated` is `nil` when it was refused at a cap.
    struct Connection: ServerChildChannelValue {
        let channel: any Channel
        let negotiated: EventLoopFuture<Negotiated>?
        /// Why an upgrade was refused, to answer it (set before `negotiated` fails).
        var refusal: NIOLockedValueBox<HubError?>? = nil
    }

    /// What the first request made of the connection.
    enum Negotiated: Sendable {
        case http(HTTP1Channel.Value)
        /// A WebSocket upgrade that was not granted: NIO has consumed its request, so
        /// the listener answers it (`refusal`) and closes.
        case refusedUpgrade
        case agentChannel(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, AgentChannelUpgrade.Accepted)
    }

    let http1: HTTP1Channel
    /// Agent channels; `nil` refuses every WebSocket upgrade (404, then the connection closes).
    let agentChannels: AgentChannelUpgrade?
    let tls: ServerTLS?
    let timeouts: ConnectionTimeouts.Limits
    let limiter: ConnectionLimiter
    let metrics: HubMetrics?
    let logger: Logger

    /// A `503` written to a refused connection before it is closed, so a client sees
    /// why (the cap is hit before its request is read, so the response comes first).
    static let refusalResponse: ByteBuffer = {
        let body = #"{"error":{"code":"\#(HubError.Code.tooManyConnections.rawValue)","message":"the hub holds too many connections; retry later"}}"#
        return ByteBuffer(
            string: "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n"
                + "content-length: \(body.utf8.count)\r\nconnection: close\r\nretry-after: 1\r\n\r\n" + body)
    }()

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        let peer = PeerAddress(channel.remoteAddress)
        guard limiter.admit(peer) == .admitted else {
            // Never fail this future: a failed child set-up can end the server's accept loop.
            channel.writeAndFlush(Self.refusalResponse).whenComplete { _ in channel.close(promise: nil) }
            return channel.eventLoop.makeSucceededFuture(Connection(channel: channel, negotiated: nil))
        }
        let limiter = limiter
        channel.closeFuture.whenComplete { _ in limiter.release(peer) }
        let timeouts = timeouts
        let fieldLimit = http1.configuration.httpDecoder.maxHeaderFieldSize
        let guardLogger = self.logger
        let metrics = metrics
        // TLS first, so that everything after it (the byte counting of the
        // timeouts included) sees the decrypted stream; the header-read timeout
        // runs from accept, so a stalled handshake is cut like a stalled head.
        let tlsHandler = tls.map { NIOSSLServerHandler(context: $0.context) }
        if let tlsHandler {
            do {
                try channel.pipeline.syncOperations.addHandler(tlsHandler)
            } catch {
                channel.close(promise: nil)
                return channel.eventLoop.makeSucceededFuture(Connection(channel: channel, negotiated: nil))
            }
        }
        return channel.eventLoop.makeCompletedFuture {
            let connectionGuard = ConnectionGuardHandler(
                limits: timeouts, fieldLimit: fieldLimit, metrics: metrics, logger: guardLogger)
            let bytes = InboundBytesHandler(reportingTo: connectionGuard)
            let refusal = NIOLockedValueBox<HubError?>(nil)
            let attempted = NIOLockedValueBox(false)
            let negotiated = try configureUpgradablePipeline(
                channel: channel, logger: logger, handlersToDropOnUpgrade: [connectionGuard, bytes], refusal: refusal,
                attempted: attempted)
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(connectionGuard, position: .after(decoder))
            try pipeline.addHandler(UpgradeScreen(attempted: attempted), position: .after(connectionGuard))
            if let tlsHandler {
                try pipeline.addHandler(bytes, position: .after(tlsHandler))
            } else {
                try pipeline.addHandler(bytes, position: .first)
            }
            return Connection(channel: channel, negotiated: negotiated, refusal: refusal)
        }
    }

    /// NIO's HTTP/1 server pipeline with a WebSocket upgrader for the agent channel.
    /// Not upgraded, the connection gets the handlers of Hummingbird's `HTTP1Channel`;
    /// upgraded, the HTTP-only handlers go (`handlersToDropOnUpgrade`) and the
    /// WebSocket gets fragment reassembly and a silence limit.
    private func configureUpgradablePipeline(
        channel: any Channel, logger: Logger, handlersToDropOnUpgrade: [any RemovableChannelHandler],
        refusal: NIOLockedValueBox<HubError?>, attempted: NIOLockedValueBox<Bool>
    ) throws -> EventLoopFuture<Negotiated> {
        let accepted = NIOLockedValueBox<AgentChannelUpgrade.Accepted?>(nil)
        let dropOnUpgrade = NIOLoopBound(handlersToDropOnUpgrade, eventLoop: channel.eventLoop)
        let agentChannels = agentChannels
        let silenceLimit = agentChannels.map { TimeAmount($0.hub.configuration.effectivePollTimeout) * 2 + .seconds(30) }
        let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
            maxFrameSize: AgentChannel.maxFrameBytes,
            shouldUpgrade: { channel, head in
                guard let agentChannels else {
                    refusal.withLockedValue { $0 = HubError.notFound("this listener serves no WebSocket upgrades") }
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                promise.completeWithTask {
                    switch await agentChannels.decide(head, channel: channel) {
                    case .accept(let granted):
                        accepted.withLockedValue { $0 = granted }
                        return HTTPHeaders([
                            ("Sec-WebSocket-Protocol", AgentChannel.subprotocol(version: granted.version))
                        ])
                    case .refuse(let error):
                        refusal.withLockedValue { $0 = error }
                        return nil
                    }
                }
                return promise.futureResult
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard let granted = accepted.withLockedValue({ $0 }), let silenceLimit else {
                        throw ChannelError.inappropriateOperationForState
                    }
                    let pipeline = channel.pipeline.syncOperations
                    for handler in dropOnUpgrade.value { pipeline.removeHandler(handler, promise: nil) }
                    try pipeline.addHandler(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                            maxAccumulatedFrameSize: AgentChannel.maxFrameBytes))
                    try pipeline.addHandler(IdleStateHandler(readTimeout: silenceLimit))
                    try pipeline.addHandler(CloseWhenSilent())
                    let socket = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: false))
                    return .agentChannel(socket, granted)
                }
            })
        let http1 = http1
        var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(
            upgradeConfiguration: NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    // What Hummingbird's `HTTP1Channel.setup` adds after NIO's HTTP/1 handlers.
                    channel.eventLoop.makeCompletedFuture {
                        if attempted.withLockedValue({ $0 }) { return .refusedUpgrade }
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try pipeline.addHandlers(http1.configuration.additionalChannelHandlers())
                        try pipeline.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.configuration.idleTimeout.map { .init($0) }, logger: logger))
                        return .http(
                            try NIOAsyncChannel(
                                wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)))
                    }
                }))
        configuration.enablePipelining = false
        configuration.enableErrorHandling = false
        configuration.enableResponseHeaderValidation = false
        configuration.decoderConfiguration.maxHeaderFieldSize = http1.configuration.httpDecoder.maxHeaderFieldSize
        configuration.decoderConfiguration.maxHeaderListSize = http1.configuration.httpDecoder.maxHeaderListSize
        configuration.decoderConfiguration.maxHeaderFieldCount = http1.configuration.httpDecoder.maxHeaderFieldCount
        return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
    }

    func handle(value: Connection, logger: Logger) async {
        guard let negotiated = value.negotiated else { return }
        do {
            switch try await negotiated.get() {
            case .http(let http):
                await http1.handle(value: http, logger: logger)
            case .refusedUpgrade:
                let error =
                    value.refusal?.withLockedValue({ $0 })
                    ?? HubError(
                        .invalidRequest,
                        "the WebSocket handshake is malformed: it needs Connection: Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13")
                await Self.answer(error, on: value.channel)
            case .agentChannel(let socket, let accepted):
                guard let hub = agentChannels?.hub else { return }
                await AgentChannelSession(hub: hub, accepted: accepted, channel: value.channel, logger: logger).serve(socket)
            }
        } catch {
            if let refused = value.refusal?.withLockedValue({ $0 }) {
                await Self.answer(refused, on: value.channel)
                return
            }
            // The connection closed before its first request was read: nothing to answer.
            logger.trace("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }

    /// Answers a refused upgrade with the API's error body and closes the connection.
    private static func answer(_ error: HubError, on channel: any Channel) async {
        let data = error.wireBody
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: Int(error.code.httpStatus.code)))
        head.headers.add(name: "content-type", value: "application/json; charset=utf-8")
        head.headers.add(name: "content-length", value: String(data.count))
        head.headers.add(name: "connection", value: "close")
        if error.asksForBearer { head.headers.add(name: "www-authenticate", value: "Bearer") }
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: data))), promise: nil)
        try? await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
        try? await channel.close()
    }
}

/// Looks at the first request head before NIO's upgrade handler: a WebSocket upgrade
/// is noted (NIO consumes the request of an upgrade it does not grant, so the listener
/// must answer it itself); any other `Upgrade` (`h2c` from `curl --http2`) is removed,
/// so the request is served as plain HTTP/1.1, as a server may ignore an upgrade.
private final class UpgradeScreen: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let attempted: NIOLockedValueBox<Bool>

    init(attempted: NIOLockedValueBox<Bool>) {
        self.attempted = attempted
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let upgrades = head.headers[canonicalForm: "upgrade"]
        if upgrades.contains(where: { $0.lowercased() == "websocket" }) {
            attempted.withLockedValue { $0 = true }
            context.fireChannelRead(data)
        } else if !upgrades.isEmpty {
            head.headers.remove(name: "upgrade")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}

/// Closes an agent channel that nothing reached for its silence limit (an agent
/// polls at least every poll timeout, so such a channel is dead).
private final class CloseWhenSilent: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
