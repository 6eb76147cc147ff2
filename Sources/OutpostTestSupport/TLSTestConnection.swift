import Foundation
import NIOCore
import NIOPosix
import NIOTLS
package import NIOSSL

/// One TLS connection to a test server, verified against a test CA, that
/// sends plain HTTP/1.1 requests over it one after another (so a test can
/// prove that a connection opened before a certificate change keeps working)
/// and tells which certificate and TLS version the server used.
package final class TLSTestConnection: @unchecked Sendable {
    private let channel: any Channel
    private let handler: NIOSSLClientHandler
    private let responses: ResponseCollector

    /// Connects to `host:port` and completes the handshake, trusting only
    /// `trustPEM`'s certificates and checking the certificate names `serverName`;
    /// presents `clientCertificatePEM` with `clientKeyPEM` when given (mutual TLS).
    package init(
        host: String, port: Int, trustPEM: String, serverName: String = "localhost",
        clientCertificatePEM: String? = nil, clientKeyPEM: String? = nil
    ) async throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(trustPEM.utf8)))
        if let clientCertificatePEM, let clientKeyPEM {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(clientCertificatePEM.utf8))
                .map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientKeyPEM.utf8), format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
        let responses = ResponseCollector()
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([handler, responses])
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            // The connection never came up: complete what the collector promised.
            responses.abandon(error)
            throw error
        }
        self.handler = handler
        self.responses = responses
        // The handshake is done once a request can be written; wait for it explicitly.
        try await responses.handshake.futureResult.get()
    }

    /// The server certificate's SHA-256 (lowercase hex of its DER).
    package var peerCertificateDER: [UInt8] {
        get async throws {
            try await channel.eventLoop.submit { [handler] in try handler.peerCertificate?.toDERBytes() ?? [] }.get()
        }
    }

    /// The negotiated TLS version, as NIOSSL names it (`tlsv13`).
    package var tlsVersion: String {
        get async throws {
            try await channel.eventLoop.submit { [handler] in handler.tlsVersion.map { "\($0)" } ?? "none" }.get()
        }
    }

    /// Sends `GET path` and returns the status code and body of the answer.
    package func get(_ path: String, token: String? = nil) async throws -> (status: Int, body: String) {
        try await send("GET", path, token: token, body: nil)
    }

    /// Sends `POST path` with a JSON body and returns the status code and body of the answer.
    package func post(_ path: String, token: String? = nil, json: String) async throws -> (status: Int, body: String) {
        try await send("POST", path, token: token, body: json)
    }

    private func send(_ method: String, _ path: String, token: String?, body: String?) async throws -> (status: Int, body: String) {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        request += "\r\n" + (body ?? "")
        let answer = channel.eventLoop.makePromise(of: (Int, String).self)
        do {
            try await channel.eventLoop.submit { [responses] in responses.expect(answer) }.get()
            try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        } catch {
            answer.fail(error)  // a no-op when the collector already failed it
            throw error
        }
        let (status, body) = try await answer.futureResult.get()
        return (status, body)
    }

    package func close() async {
        try? await channel.close().get()
    }
}

/// Collects one HTTP/1.1 response at a time (status line, headers with a
/// content-length, body). Lives on the channel's event loop.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    var handshake: EventLoopPromise<Void>!
    private var buffer = ByteBuffer()
    private var pending: EventLoopPromise<(Int, String)>?

    func handlerAdded(context: ChannelHandlerContext) {
        handshake = context.eventLoop.makePromise()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        struct Removed: Error {}
        closed = true
        handshake.fail(Removed())
        pending?.fail(Removed())
        pending = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { handshake.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    /// Set once the connection is gone: a response can no longer come.
    private var closed = false

    func expect(_ promise: EventLoopPromise<(Int, String)>) {
        struct Closed: Error {}
        if closed { return promise.fail(Closed()) }
        pending = promise
    }

    /// For a connection that failed before it was up.
    func abandon(_ error: any Error) {
        handshake?.fail(error)
        pending?.fail(error)
        pending = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        let text = String(buffer: buffer)
        guard let headerEnd = text.range(of: "\r\n\r\n") else { return }
        let head = text[..<headerEnd.lowerBound]
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let body = text[headerEnd.upperBound...]
        guard body.utf8.count >= length else { return }
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        buffer.clear()
        pending?.succeed((status, String(body)))
        pending = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
        pending?.fail(error)
        pending = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        struct Closed: Error {}
        closed = true
        handshake.fail(Closed())
        pending?.fail(Closed())
        pending = nil
        context.fireChannelInactive()
    }
}
