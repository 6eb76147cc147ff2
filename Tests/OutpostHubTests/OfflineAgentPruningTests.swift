import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

@Suite("Offline agent pruning")
struct OfflineAgentPruningTests {
    @Test("agents offline past the retention period leave the store, the agent list and the offline gauge")
    func pruned() async throws {
        try await TestHub.with(configure: {
            $0.heartbeatTimeout = .seconds(60)
            $0.pollTimeout = .milliseconds(100)
            $0.offlineAgentRetention = .seconds(3600)
        }) { hub in
            let sweeper = Sweeper(hub: hub.hub)
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                let old = try await SimAgent.register(api, registrationToken: registration, name: "old-agent")
                let task = try await hub.createTask(api, target: "local")
                #expect(try await old.poll(api).assignments.map(\.taskID) == [task.id])
                #expect(try await old.start(api, task.id).status == .ok)
                #expect(try await old.finish(api, task.id).status == .ok)

                // old-agent goes silent and offline at t+61.
                hub.clock.advance(by: 61)
                await sweeper.sweep(now: hub.clock.date)
                _ = try await SimAgent.register(api, registrationToken: registration, name: "late-agent")
                #expect(try await offlineNames(hub) == ["old-agent"])
                #expect(try await scrape(api).value("outpost_agents", ["status": "offline"]) == 1)

                // late-agent goes offline an hour later; old-agent is now past the retention period.
                hub.clock.advance(by: 3600)
                await sweeper.sweep(now: hub.clock.date)
                #expect(try await offlineNames(hub) == ["late-agent"])
                #expect(try await scrape(api).value("outpost_agents", ["status": "offline"]) == 1)
                let listed = try await api.send(.get, "/api/v1/agents?all=true").decode(ListResponse<AgentRecord>.self)
                #expect(listed.items.map(\.name) == ["late-agent"])

                // The task old-agent ran still names it.
                let kept = try await api.send(.get, "/api/v1/tasks/\(task.id)").decode(TaskRecord.self)
                #expect(kept.agent == "old-agent")
                #expect(kept.status == .succeeded)
            }
        }
    }

    @Test("an offline agent whose name is still reserved is kept until the reservation ends")
    func reservedKept() async throws {
        try await TestHub.with { hub in
            let store = hub.store
            let seen = hub.clock.date
            try await store.insertAgentType(
                AgentType(name: "sticky", nameReleaseSeconds: 7200, createdAt: seen, tokenRotatedAt: seen),
                registrationTokenHash: "hash-sticky-type")
            let agent = AgentRecord(
                id: "agt_reserved", name: "reserved-agent", type: "sticky", tags: TagSet([]), status: .online,
                version: "test", os: "linux", concurrency: 1, registeredAt: seen, lastSeenAt: seen)
            try await store.insertAgent(agent, tokenHash: "hash-reserved")
            _ = try await store.markAgentOffline(id: agent.id, at: seen, reason: "test")
            let cutoff = seen.addingTimeInterval(1)
            // Past the retention cutoff, but its name is reserved for two hours.
            #expect(try await store.deleteOfflineAgents(lastSeenBefore: cutoff, now: seen.addingTimeInterval(7199)).isEmpty)
            #expect(
                try await store.deleteOfflineAgents(lastSeenBefore: cutoff, now: seen.addingTimeInterval(7200))
                    == ["reserved-agent"])
            #expect(try await store.agent(id: agent.id) == nil)
        }
    }

    private func offlineNames(_ hub: TestHub) async throws -> [String] {
        try await hub.store.listAgents(includeOffline: true).filter { $0.status == .offline }.map(\.name)
    }

    private func scrape(_ api: API) async throws -> Exposition {
        let reply = try await api.send(.get, "/metrics", token: .none)
        #expect(reply.status == .ok)
        return try Exposition(reply.text)
    }
}
