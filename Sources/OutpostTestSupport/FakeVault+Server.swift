import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

extension FakeVault {
    /// Runs a real HTTP server for the duration of `body`, passing its address
    /// (`http://127.0.0.1:PORT`, or `https://` with `tls`).
    /// - Parameter clientCAs: PEM CA certificates; with them (and `tls`) the server asks
    ///   every connection for a client certificate, refuses the handshake for one they did
    ///   not issue, and lets certificate logins read the one presented (none is fine too).
    package nonisolated func run<T: Sendable>(
        tls: TestCredential? = nil, clientCAs: [String]? = nil, _ body: @Sendable (String) async throws -> T
    ) async throws -> T {
        var configuration: TLSConfiguration?
        if let tls {
            var server = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(tls.certificatePEM.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(tls.privateKeyPEM.utf8), format: .pem)))
            if let clientCAs {
                server.certificateVerification = .optionalVerification
                server.trustRoots = .certificates(try clientCAs.flatMap { try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) })
            }
            configuration = server
        }
        let builder = HTTPServerBuilder { [configuration] responder in
            let plain = VaultLISTChannel(HTTP1Channel(responder: responder))
            guard let configuration else { return plain }
            return try TLSChannel(plain, tlsConfiguration: configuration)
        }
        // The shared runner: it stops the server gracefully (see withFakeServer).
        return try await withFakeServer(router(), server: builder, scheme: configuration == nil ? "http" : "https", body)
    }
}

/// Vault's `LIST` method for the fake: SwiftNIO's HTTP parser knows no `LIST` and
/// answers it 400, but Vault's clients (hvac) send it. Before the parser, the request
/// line `LIST /v1/x HTTP/1.1` becomes `GET /v1/x?list=true HTTP/1.1`, which Vault
/// documents as the same request.
struct VaultLISTChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base

    init(_ base: Base) { self.base = base }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(LISTRequestLineRewriter())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Follows HTTP/1.1 request framing on the raw bytes (each head up to its blank line,
/// then `Content-Length` bytes of body) and rewrites the request line of `LIST`
/// requests. A chunked or oversized request turns it into a plain pass-through.
final class LISTRequestLineRewriter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var head = ByteBuffer()
    private var bodyRemaining = 0
    private var passThrough = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if passThrough {
            context.fireChannelRead(data)
            return
        }
        while input.readableBytes > 0 {
            if bodyRemaining > 0 {
                let count = min(bodyRemaining, input.readableBytes)
                bodyRemaining -= count
                context.fireChannelRead(wrapInboundOut(input.readSlice(length: count)!))
                continue
            }
            head.writeBuffer(&input)
            let bytes = Array(head.readableBytesView)
            guard let end = Self.endOfHead(bytes) else {
                if head.readableBytes > 256 * 1024 {
                    passThrough = true
                    context.fireChannelRead(wrapInboundOut(head))
                    head = ByteBuffer()
                }
                return
            }
            let text = String(decoding: bytes[..<end], as: UTF8.self)
            input = context.channel.allocator.buffer(bytes: bytes[end...])
            head = ByteBuffer()
            var lines = text.components(separatedBy: "\r\n")
            lines[0] = Self.rewrite(requestLine: lines[0])
            for line in lines.dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                if parts[0].lowercased() == "content-length" { bodyRemaining = Int(parts[1]) ?? 0 }
                if parts[0].lowercased() == "transfer-encoding" { passThrough = true }
            }
            context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(string: lines.joined(separator: "\r\n"))))
            if passThrough {
                if input.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(input)) }
                return
            }
        }
    }

    /// The index just past the blank line that ends a request head.
    private static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    /// `LIST /a?b=c HTTP/1.1` → `GET /a?b=c&list=true HTTP/1.1`; other lines unchanged.
    static func rewrite(requestLine: String) -> String {
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].uppercased() == "LIST" else { return requestLine }
        let target = parts[1].contains("?") ? parts[1] + "&list=true" : parts[1] + "?list=true"
        return "GET \(target) \(parts[2])"
    }
}
