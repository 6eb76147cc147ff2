import OutpostCore
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Hummingbird's HTTP/1 channel with the hub's connection limits: connection caps
/// (in all and per peer), header-read and idle timeouts, keep-alive honoured,
/// refused heads answered in JSON (`ConnectionGuardHandler`); over TLS when `tls`
/// is set (each connection gets the context current when it is accepted).
struct HubHTTPChannel: ServerChildChannel {
    /// One accepted connection: `http` is `nil` when it was refused at a cap.
    struct Connection: ServerChildChannelValue {
        let channel: any Channel
        let http: HTTP1Channel.Value?
    }

    let http1: HTTP1Channel
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
            return channel.eventLoop.makeSucceededFuture(Connection(channel: channel, http: nil))
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
                return channel.eventLoop.makeSucceededFuture(Connection(channel: channel, http: nil))
            }
        }
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { http in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let connectionGuard = ConnectionGuardHandler(
                limits: timeouts, fieldLimit: fieldLimit, metrics: metrics, logger: guardLogger)
            try pipeline.addHandler(connectionGuard, position: .after(decoder))
            let bytes = InboundBytesHandler(reportingTo: connectionGuard)
            if let tlsHandler {
                try pipeline.addHandler(bytes, position: .after(tlsHandler))
            } else {
                try pipeline.addHandler(bytes, position: .first)
            }
            return Connection(channel: channel, http: http)
        }
    }

    func handle(value: Connection, logger: Logger) async {
        guard let http = value.http else { return }
        await http1.handle(value: http, logger: logger)
    }
}
