import Foundation
import HTTPTypes
import OutpostCore
import OutpostTestSupport
import Synchronization
import Testing

@testable import OutpostHub

@Suite("Metrics scrapes: token and shared snapshot")
struct MetricsScrapeTests {
    static let token = "metrics-canary-7f3a9c1e52b84d06"

    @Test("with a metrics token set, /metrics answers 401 without it or with another token, 200 with it")
    func token() async throws {
        let metricsToken = try MetricsToken(Self.token + "\n")
        try await TestHub.with(configure: { $0.metricsToken = metricsToken }) { hub in
            try await hub.withAPI { api in
                let missing = try await api.send(.get, "/metrics", token: .none)
                #expect(missing.status == .unauthorized)
                #expect(missing.error?.code == "unauthorized")
                #expect(missing.header("WWW-Authenticate") == "Bearer")
                #expect(!missing.text.contains("outpost_"), "no series without the token")

                let admin = try await api.send(.get, "/metrics", token: .admin)
                #expect(admin.status == .unauthorized, "the admin API token is not the metrics token")
                let wrong = try await api.send(.get, "/metrics", token: .bearer(Self.token + "x"))
                #expect(wrong.status == .unauthorized)
                expectAbsent(Self.token, in: wrong.text, "the 401 answer")

                let right = try await api.send(.get, "/metrics", token: .bearer(Self.token))
                #expect(right.status == .ok)
                #expect(try Exposition(right.text).value("outpost_queued_tasks") == 0)
                // /healthz stays open.
                #expect(try await api.send(.get, "/healthz", token: .none).status == .ok)
            }
        }
    }

    @Test("without a metrics token /metrics stays open")
    func open() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let reply = try await api.send(.get, "/metrics", token: .none)
                #expect(reply.status == .ok)
            }
        }
    }

    @Test("a metrics token file must hold one non-empty line; the token never shows in a description")
    func tokenValidation() throws {
        #expect(throws: ValidationError.self) { try MetricsToken("  \n") }
        #expect(throws: ValidationError.self) { try MetricsToken("one\ntwo") }
        let token = try MetricsToken(Self.token)
        expectAbsent(Self.token, in: "\(token)", "the token's description")
        expectAbsent(Self.token, in: String(reflecting: token), "the token's debug description")
    }

    @Test("two scrapes within a second get one computation; a second later the body is recomputed")
    func cachedWithinASecond() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                #expect(try await scrape(api).value("outpost_queued_tasks") == 0)
                _ = try await hub.createTask(api, target: "local")
                hub.clock.advance(by: 0.999)
                #expect(try await scrape(api).value("outpost_queued_tasks") == 0, "served from the snapshot")
                #expect(await hub.hub.metricsCache.computations == 1)
                hub.clock.advance(by: 0.001)
                #expect(try await scrape(api).value("outpost_queued_tasks") == 1)
                #expect(await hub.hub.metricsCache.computations == 2)
            }
        }
    }

    @Test("concurrent scrapes of a stale body wait for one shared computation")
    func concurrentScrapesShare() async throws {
        let cache = MetricsSnapshotCache()
        let gate = AsyncStream<Void>.makeStream()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let bodies = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await cache.body(now: now, interval: 1) {
                        for await _ in gate.stream { break }
                        return Array("body".utf8)
                    }
                }
            }
            #expect(await eventually { await cache.joined == 19 })
            gate.continuation.yield()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(bodies.count == 20)
        #expect(bodies.allSatisfy { $0 == Array("body".utf8) })
        #expect(await cache.computations == 1)
    }

    private func scrape(_ api: API) async throws -> Exposition {
        let reply = try await api.send(.get, "/metrics", token: .none)
        #expect(reply.status == .ok)
        return try Exposition(reply.text)
    }
}
