import Foundation
import OutpostCore
import SQLKit
import Testing

@testable import OutpostStore

@Suite("Heartbeats and silent agents")
struct HeartbeatTests {
    @Test("heartbeats of more agents than one statement takes all land, and none moves last-seen back")
    func manyHeartbeats() async throws {
        try await withStore { store in
            let seeding = try #require(store as? any BenchmarkSeeding)
            let count = 1_201
            let prefix = try await seeding.seedOfflineAgentsForBenchmark(count: count, lastSeenAt: t0)
            var beats: [String: Date] = ["agt_unknown": t0.addingTimeInterval(60)]
            for i in 0..<count {
                // Even agents move forward a minute; odd ones report an older time.
                beats[prefix + String(i)] = t0.addingTimeInterval(i.isMultiple(of: 2) ? 60 : -60)
            }
            try await store.recordHeartbeats(beats)
            let seen = try await store.read("reading last-seen times") { db in
                try await db.raw("SELECT last_seen_at, COUNT(*) AS n FROM agents GROUP BY last_seen_at ORDER BY last_seen_at")
                    .all().map { row in (try row.date("last_seen_at"), try row.column("n", as: Int.self)) }
            }
            #expect(seen.map(\.0) == [t0, t0.addingTimeInterval(60)])
            #expect(seen.map(\.1) == [count / 2, count / 2 + 1])
            #expect(try await store.agent(id: "agt_unknown") == nil)
        }
    }

    @Test("batches of every size fit the padded statement", arguments: [1, 2, 3, 499, 500, 501])
    func batchSizes(count: Int) async throws {
        try await withStore { store in
            let seeding = try #require(store as? any BenchmarkSeeding)
            let prefix = try await seeding.seedOfflineAgentsForBenchmark(count: count, lastSeenAt: t0)
            let later = t0.addingTimeInterval(30)
            try await store.recordHeartbeats(Dictionary(uniqueKeysWithValues: (0..<count).map { (prefix + String($0), later) }))
            for i in [0, count - 1] {
                #expect(try await store.agent(id: prefix + String(i))?.lastSeenAt == later, "agent \(i) \(onBackend)")
            }
        }
    }

    @Test("silent agents: not offline, last seen strictly before the cutoff, oldest first, with their running tasks")
    func silentAgents() async throws {
        try await withStore { store in
            let cutoff = t0.addingTimeInterval(100)
            let quiet = try await store.seedAgent(name: "quiet", at: t0.addingTimeInterval(10))
            let quieter = try await store.seedAgent(name: "quieter", status: .draining, at: t0)
            let busy = try await store.seedAgent(name: "busy", status: .busy, at: t0.addingTimeInterval(50))
            _ = try await store.seedAgent(name: "on-the-edge", at: cutoff)
            _ = try await store.seedAgent(name: "fresh", at: cutoff.addingTimeInterval(1))
            _ = try await store.seedAgent(name: "gone", status: .offline, at: t0)
            let task = try await store.seedTask()
            _ = try await store.claimTask(id: task.id, agentID: busy.id, agentName: busy.name, at: t0)

            let silent = try await store.agentsSilentSince(cutoff)
            #expect(silent.map(\.name) == [quieter.name, quiet.name, busy.name])
            #expect(silent.map(\.runningTasks) == [0, 0, 1])
            // A heartbeat takes an agent off the list.
            try await store.recordHeartbeats([quiet.id: cutoff])
            #expect(try await store.agentsSilentSince(cutoff).map(\.name) == [quieter.name, busy.name])
        }
    }
}
