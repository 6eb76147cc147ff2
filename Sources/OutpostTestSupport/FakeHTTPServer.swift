package import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

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
    var server = HTTPServerBuilder.http1()
    if let tls {
        server = try .tls(
            tlsConfiguration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(tls.certificatePEM.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(tls.privateKeyPEM.utf8), format: .pem))))
    }
    return try await withFakeServer(router, server: server, scheme: tls == nil ? "http" : "https", body)
}

/// `withFakeServer` with the fake's own channel (`server`), served as `scheme://127.0.0.1:PORT`.
package func withFakeServer<Context: RequestContext, T: Sendable>(
    _ router: Router<Context>,
    server: HTTPServerBuilder,
    scheme: String,
    _ body: @Sendable (String) async throws -> T
) async throws -> T where Context.Source == ApplicationRequestContextSource {
    let (ports, portsContinuation) = AsyncStream.makeStream(of: Int.self)
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
    // Stopped by a graceful shutdown, never by cancelling `run()` alone: a server task
    // cancelled just as a connection was accepted leaves that connection unserved, and
    // NIO traps on it ("Deinited NIOAsyncWriter without calling finish()", swift-nio
    // issue 3481). A request handler that stalls on purpose gets `shutdownGrace`, then
    // the server is cancelled (its connections are being served by then).
    let services = ServiceGroup(
        configuration: .init(
            services: [app], gracefulShutdownSignals: [],
            logger: Logger(label: "fake-server", factory: { _ in SwiftLogNoOpLogHandler() })))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        let outcome: Result<T, any Error>
        var iterator = ports.makeAsyncIterator()
        if let port = await iterator.next() {
            do {
                outcome = .success(try await body("\(scheme)://127.0.0.1:\(port)"))
            } catch {
                outcome = .failure(error)
            }
        } else {
            outcome = .failure(HarnessError("the fake server did not start"))
        }
        await services.triggerGracefulShutdown()
        group.addTask { try? await Task.sleep(for: shutdownGrace) }
        _ = try? await group.next()
        group.cancelAll()
        return try outcome.get()
    }
}

/// How long a fake's in-flight requests may run on once the test is done with it.
private let shutdownGrace: Duration = .seconds(2)
