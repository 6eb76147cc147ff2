import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Agents")
struct AgentTests {
    @Test("an agent round-trips and is found by id and by token hash")
    func roundTrip() async throws {
        try await withStore { store in
            let agent = try await store.seedAgent(name: "brave-otter-0001", tags: TagSet(["prod", "eu"]), tokenHash: "h1")
            #expect(try await store.agent(id: agent.id) == agent)
            #expect(try await store.agent(tokenHash: "h1") == agent)
            #expect(try await store.agent(tokenHash: "nope") == nil)
            #expect(try await store.agent(id: "agt_missing") == nil)
        }
    }

    @Test("a name is unique among agents that are not offline")
    func nameTakenWhileLive() async throws {
        try await withStore { store in
            try await store.seedAgent(name: "shared-name")
            let error = await expectStoreError(.conflict) { try await store.seedAgent(name: "shared-name") }
            #expect(error?.message.contains("shared-name") == true)
        }
    }

    @Test("an offline agent's name can be taken again, and both rows remain")
    func nameFreedWhenOffline() async throws {
        try await withStore { store in
            let old = try await store.seedAgent(name: "shared-name")
            _ = try await store.markAgentOffline(id: old.id, at: t0, reason: "deregistered")
            let new = try await store.seedAgent(name: "shared-name")
            #expect(try await store.listAgents(includeOffline: false).map(\.id) == [new.id])
            #expect(Set(try await store.listAgents(includeOffline: true).map(\.id)) == [old.id, new.id])

            // The old one cannot come back while the new one holds the name.
            await expectStoreError(.conflict) { try await store.setAgentStatus(id: old.id, status: .online) }
        }
    }

    @Test("an agent of an unknown type is refused")
    func unknownType() async throws {
        try await withStore { store in
            let agent = AgentRecord(
                id: "agt_x", name: "typeless-agent", type: "nope", tags: .empty, status: .online, version: "1",
                os: "linux", concurrency: 1, registeredAt: t0, lastSeenAt: t0)
            await expectStoreError(.notFound) { try await store.insertAgent(agent, tokenHash: "h") }
        }
    }

    @Test("agents are listed by name with the count of their unfinished tasks")
    func listing() async throws {
        try await withStore { store in
            let b = try await store.seedAgent(name: "bravo-agent")
            let a = try await store.seedAgent(name: "alpha-agent")
            for _ in 0..<2 {
                let task = try await store.seedTask()
                _ = try await store.claimTask(id: task.id, agentID: b.id, agentName: b.name, at: t0)
            }
            let agents = try await store.listAgents(includeOffline: false)
            #expect(agents.map(\.name) == [a.name, b.name])
            #expect(agents.map(\.runningTasks) == [0, 2])
        }
    }

    @Test("heartbeats move last-seen forward only; unknown ids are skipped")
    func heartbeats() async throws {
        try await withStore { store in
            let a = try await store.seedAgent()
            let b = try await store.seedAgent()
            try await store.recordHeartbeats([
                a.id: t0.addingTimeInterval(30), b.id: t0.addingTimeInterval(-30), "agt_missing": t0,
            ])
            #expect(try await store.agent(id: a.id)?.lastSeenAt == t0.addingTimeInterval(30))
            #expect(try await store.agent(id: b.id)?.lastSeenAt == t0)
            try await store.recordHeartbeats([:])
        }
    }

    @Test("status changes are stored; an unknown agent is not found")
    func status() async throws {
        try await withStore { store in
            let agent = try await store.seedAgent()
            for status in [AgentRecord.Status.busy, .draining, .online, .offline] {
                try await store.setAgentStatus(id: agent.id, status: status)
                #expect(try await store.agent(id: agent.id)?.status == status)
            }
            await expectStoreError(.notFound) { try await store.setAgentStatus(id: "agt_missing", status: .busy) }
        }
    }
}
