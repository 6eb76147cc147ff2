package import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// A real HTTP server on 127.0.0.1 and a free port, serving a Hummingbird router:
/// the base of every `Fake…` store (Vault, Azure, GCP, a custom HTTP store).
///
/// Use `withFakeServer(router) { baseURL in ... }`: the server runs for the
/// duration of the closure and is shut down after it, also when it throws.
/// With `tls`, it serves HTTPS with that certificate (`https://127.0.0.1:PORT`).
package func withFakeServer<Context: RequestContext, T: Sendable>(
    _ router: Router<Context>,
    tls: TestCredential? = nil,
    _ body: @Sendable (String) async throws -> T
) async throws -> T where Context.Source == ApplicationRequestContextSource {
    let (ports, portsContinuation) = AsyncStream.makeStream(of: Int.self)
    var server = HTTPServerBuilder.http1()
    if let tls {
        server = try .tls(
            tlsConfiguration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(tls.certificatePEM.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(tls.privateKeyPEM.utf8), format: .pem))))
    }
    let app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
        onServerRunning: { channel in
            portsContinuation.yield(channel.localAddress?.port ?? 0)
            portsContinuation.finish()
        },
        logger: Logger(label: "fake-server", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await app.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HarnessError("the fake server did not start") }
        let result = try await body("\(tls == nil ? "http" : "https")://127.0.0.1:\(port)")
        group.cancelAll()
        return result
    }
}
