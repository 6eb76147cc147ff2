import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A home-grown secret store over a real socket, for the `http` provider:
///
/// - `GET /secrets/<name...>` (the name appended as path segments) and
///   `GET /lookup?name=<escaped name>` (a `{name}` placeholder in a query)
///   answer the body stored for that name, 404 `{"error": "no such secret"}`
///   when there is none;
/// - `GET /names` answers a JSON array of every stored name;
/// - a bearer token or an API-key header is required when configured
///   (401 without credentials, 403 with wrong ones).
///
/// Faults: slow answers, the next N requests failing with a status. Counters
/// say how many requests reached it, per secret name.
package actor FakeHTTPStore {
    /// What the store requires of a request.
    package enum Auth: Sendable {
        case none
        case bearer(String)
        case header(name: String, value: String)
    }

    let auth: Auth
    var replies: [String: (status: Int, body: String)] = [:]
    var delay: Duration = .zero
    var failures: [Int] = []
    var counts: [String: Int] = [:]
    var total = 0

    package init(auth: Auth = .none) {
        self.auth = auth
    }

    /// A secret answered as `{"value": "..."}`.
    package func put(_ name: String, value: String) {
        put(name, json: ["value": value])
    }

    /// A secret answered as a JSON object of key/values.
    package func put(_ name: String, json: [String: String]) {
        let data = (try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data()
        replies[name] = (200, String(decoding: data, as: UTF8.self))
    }

    /// Any answer for `name`, verbatim (malformed bodies, odd statuses).
    package func putRaw(_ name: String, status: Int = 200, body: String) {
        replies[name] = (status, body)
    }

    /// Every answer waits `delay` first.
    package func setDelay(_ delay: Duration) {
        self.delay = delay
    }

    /// The next `count` requests answer `status` with `{"error": "..."}`.
    package func failNext(_ count: Int, status: Int = 500) {
        failures.append(contentsOf: Array(repeating: status, count: count))
    }

    /// Requests that asked for `name`.
    package func count(_ name: String) -> Int {
        counts[name, default: 0]
    }

    /// Every request that reached the store.
    package func totalCount() -> Int {
        total
    }

    /// Runs a real HTTP server for the duration of `body`, passing its base URL.
    package nonisolated func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        try await withFakeServer(router(), body)
    }

    nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/**") { request, _ -> Response in
            let authorization = request.headers[.authorization]
            var presented: [String: String] = [:]
            for field in request.headers { presented[field.name.canonicalName] = field.value }
            let path = request.uri.path
            var name: String?
            if path.hasPrefix("/secrets/") {
                name = String(path.dropFirst("/secrets/".count)).removingPercentEncoding
            } else if path == "/lookup" {
                name = request.uri.queryParameters["name"].map(String.init)?.removingPercentEncoding
            }
            let delay = await self.delay
            if delay > .zero { try await Task.sleep(for: delay) }
            let (status, body) = await self.answer(
                name: name, isList: path == "/names", authorization: authorization, headers: presented)
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return router
    }

    private func answer(
        name: String?, isList: Bool, authorization: String?, headers: [String: String]
    ) -> (Int, String) {
        total += 1
        if let name { counts[name, default: 0] += 1 }
        if !failures.isEmpty { return (failures.removeFirst(), #"{"error": "the store is having a bad day"}"#) }
        switch auth {
        case .none: break
        case .bearer(let token):
            guard let authorization else { return (401, #"{"error": "missing bearer token"}"#) }
            guard authorization == "Bearer \(token)" else { return (403, #"{"error": "token not allowed"}"#) }
        case .header(let headerName, let value):
            guard let presented = headers[headerName.lowercased()] else { return (401, #"{"error": "missing API key"}"#) }
            guard presented == value else { return (403, #"{"error": "API key not allowed"}"#) }
        }
        if isList {
            let data = (try? JSONSerialization.data(withJSONObject: replies.keys.sorted())) ?? Data("[]".utf8)
            return (200, String(decoding: data, as: UTF8.self))
        }
        guard let name, let reply = replies[name] else { return (404, #"{"error": "no such secret"}"#) }
        return (reply.status, reply.body)
    }
}
