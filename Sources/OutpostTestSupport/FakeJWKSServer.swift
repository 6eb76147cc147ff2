import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An identity provider's key set endpoint over a real socket, for the
/// agent's user-token verifier: `GET /.well-known/jwks.json` answers the
/// current document (a JSON Web Key Set, or anything a test wants to break it
/// with). Counts the requests that reached it.
package actor FakeJWKSServer {
    /// The path the key set is served at.
    package static let path = "/.well-known/jwks.json"

    var status = 200
    var body: String
    var delay: Duration = .zero
    var requests = 0

    package init(jwks: String) {
        self.body = jwks
    }

    /// Answer 200 with `jwks` from now on (a rotated or shrunk key set).
    package func serve(_ jwks: String) {
        status = 200
        body = jwks
    }

    /// Answer `status` with `body` verbatim from now on (failures, malformed documents).
    package func answer(status: Int, body: String) {
        self.status = status
        self.body = body
    }

    /// Every answer waits `delay` first (a hanging provider).
    package func setDelay(_ delay: Duration) {
        self.delay = delay
    }

    /// Requests for the key set so far.
    package func requestCount() -> Int {
        requests
    }

    /// Runs the server for the duration of `body`, passing the key set's URL.
    package nonisolated func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.get(RouterPath(Self.path)) { _, _ -> Response in
            let (status, text, delay) = await self.take()
            if delay > .zero { try await Task.sleep(for: delay) }
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return try await withFakeServer(router) { base in try await body(base + Self.path) }
    }

    private func take() -> (Int, String, Duration) {
        requests += 1
        return (status, body, delay)
    }
}
