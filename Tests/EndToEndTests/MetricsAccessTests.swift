import Foundation
import OutpostTestSupport
import Testing

/// `outpost server --metrics-token-file`: `/metrics` behind its own bearer token.
@Suite("Metrics token (processes)", .serialized)
struct MetricsAccessTests {
    static let token = "metrics-canary-e2e-3b9d41f07a6c"

    @Test("with --metrics-token-file, /metrics answers 401 without the token and 200 with it; the token is never logged")
    func tokenRequired() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-metrics")
        defer { directory.remove() }
        let tokenFile = directory.file("metrics-token")
        try (Self.token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let hub = try await HubHarness(
            dataDirectory: directory.file("hub"), arguments: ["--metrics-token-file", tokenFile])
        do {
            let port = try #require(hub.url.split(separator: ":").last.flatMap { Int($0) })

            func scrape(_ authorization: String?) throws -> String {
                let socket = try RawSocket(port: port)
                var request = "GET /metrics HTTP/1.1\r\nHost: hub\r\n"
                if let authorization { request += "Authorization: \(authorization)\r\n" }
                socket.send(request + "\r\n")
                return socket.readResponse(timeout: .seconds(10)) ?? "no answer"
            }

            let without = try scrape(nil)
            #expect(without.hasPrefix("HTTP/1.1 401"), "\(without.prefix(200))")
            #expect(without.contains(#""code":"unauthorized""#))
            let withAdminToken = try scrape("Bearer \(hub.adminToken)")
            #expect(withAdminToken.hasPrefix("HTTP/1.1 401"), "an API token is not the metrics token")
            let with = try scrape("Bearer \(Self.token)")
            #expect(with.hasPrefix("HTTP/1.1 200"))
            #expect(with.contains("outpost_connections_open"))
        } catch {
            await hub.stop()
            throw error
        }
        await hub.stop()
        expectAbsent(Self.token, in: hub.process.stderr, "the hub's log")
        expectAbsent(Self.token, in: hub.process.stdout, "the hub's output")
    }
}
