import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A tiny HTTPS server on 127.0.0.1 for the clients' trust tests: real TLS handshakes
/// with a certificate made in the test, and `GET /healthz` answered `{"status":"ok"}`
/// (anything else: 404 with the hub's error shape). It counts the requests that got
/// through, so a test can tell that a refused client sent nothing. With `clientCAs` it
/// also asks for a client certificate signed by one of them and records, per request,
/// the one the client presented.
package final class TestTLSServer: Sendable {
    /// `https://127.0.0.1:PORT`.
    package let url: String
    package let port: Int
    private let channel: any Channel
    private let counter: RequestCounter

    /// Starts serving `credential`, followed by `chain` (PEM CA certificates) in the handshake.
    /// - Parameter clientCAs: PEM CA certificates: when given, the server asks for a client
    ///   certificate, accepts one they signed (or none), and refuses the handshake for any other.
    package init(credential: TestCredential, chain: [String] = [], clientCAs: [String]? = nil) async throws {
        let certificates =
            try [NIOSSLCertificate(bytes: Array(credential.certificatePEM.utf8), format: .pem)]
            + chain.map { try NIOSSLCertificate(bytes: Array($0.utf8), format: .pem) }
        let key = try NIOSSLPrivateKey(bytes: Array(credential.privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        if let clientCAs {
            configuration.certificateVerification = .optionalVerification
            configuration.trustRoots = .certificates(try clientCAs.map { try NIOSSLCertificate(bytes: Array($0.utf8), format: .pem) })
        }
        let context = try NIOSSLContext(configuration: configuration)
        let counter = RequestCounter()
        self.counter = counter
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CannedResponder(counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        url = "https://127.0.0.1:\(port)"
    }

    /// Requests answered so far (each needed a completed handshake).
    package var requestCount: Int { counter.value.withLock { $0.count } }

    /// For each request so far, the DER of the client certificate it came with, or `nil`.
    package var clientCertificates: [[UInt8]?] { counter.value.withLock { $0.clientCertificates } }

    package func stop() async {
        try? await channel.close()
    }
}

private final class RequestCounter: Sendable {
    struct Seen {
        var count = 0
        var clientCertificates: [[UInt8]?] = []
    }

    let value = Mutex(Seen())
}

/// Answers each HTTP/1 request once its end arrives.
private final class CannedResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let counter: RequestCounter
    private var head: HTTPRequestHead?

    init(counter: RequestCounter) { self.counter = counter }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            let presented = try? context.pipeline.syncOperations.nioSSL_peerCertificate()?.toDERBytes()
            counter.value.withLock {
                $0.count += 1
                $0.clientCertificates.append(presented)
            }
            let (status, body): (HTTPResponseStatus, String) =
                head.method == .GET && head.uri == "/healthz"
                ? (.ok, #"{"status":"ok"}"#)
                : (.notFound, #"{"error":{"code":"not_found","message":"no such route in the test server"}}"#)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            self.head = nil
        }
    }
}
