import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Claiming and starting tasks")
struct ClaimAndStartTests {
    @Test("a queued task is claimed once: the claim returns its assignment, a second claim nil")
    func claimOnce() async throws {
        try await withStore { store in
            let task = try await store.seedTask(script: "echo once")
            let first = try await store.seedAgent()
            let second = try await store.seedAgent()

            let assignment = try await store.claimTask(
                id: task.id, agentID: first.id, agentName: first.name, at: t0.addingTimeInterval(1))
            #expect(assignment?.taskID == task.id)
            #expect(assignment?.script == "echo once")
            #expect(assignment?.target.env == ["GREETING": "hello"])

            let again = try await store.claimTask(id: task.id, agentID: second.id, agentName: second.name, at: t0)
            #expect(again == nil)

            let stored = try #require(try await store.task(id: task.id))
            #expect(stored.status == .assigned)
            #expect(stored.agent == first.name)
        }
    }

    @Test("50 concurrent claims of one task: exactly one wins")
    func concurrentClaims() async throws {
        try await withStore { store in
            let task = try await store.seedTask()
            var agents: [AgentRecord] = []
            for _ in 0..<50 { agents.append(try await store.seedAgent()) }

            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for agent in agents {
                    group.addTask {
                        try await store.claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: t0) != nil
                            ? agent.name : nil
                    }
                }
                var names: [String] = []
                for try await name in group { if let name { names.append(name) } }
                return names
            }
            #expect(winners.count == 1)
            #expect(try await store.task(id: task.id)?.agent == winners.first)
        }
    }

    @Test("claiming a task that is not queued returns nil", arguments: [TaskStatus.assigned, .running] + TaskStatus.terminal)
    func claimNotQueued(status: TaskStatus) async throws {
        try await withStore { store in
            let (task, _) = try await store.seedTask(in: status)
            let agent = try await store.seedAgent()
            #expect(try await store.claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: t0) == nil)
            #expect(try await store.task(id: task.id)?.status == status)
        }
    }

    @Test("claiming an unknown task or for an unknown agent is not found")
    func claimUnknown() async throws {
        try await withStore { store in
            let agent = try await store.seedAgent()
            await expectStoreError(.notFound) {
                try await store.claimTask(id: "tsk_missing", agentID: agent.id, agentName: agent.name, at: t0)
            }
            let task = try await store.seedTask()
            await expectStoreError(.notFound) {
                try await store.claimTask(id: task.id, agentID: "agt_missing", agentName: "ghost-agent", at: t0)
            }
            #expect(try await store.task(id: task.id)?.status == .queued)
        }
    }

    @Test("start moves assigned to running, sets started_at, and is idempotent")
    func startIdempotent() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .assigned)
            let agentID2 = try #require(agentID)
            let started = try await store.startTask(id: task.id, agentID: agentID2, at: t0.addingTimeInterval(5))
            #expect(started.status == .running)
            #expect(started.startedAt == t0.addingTimeInterval(5))

            let again = try await store.startTask(id: task.id, agentID: agentID2, at: t0.addingTimeInterval(9))
            #expect(again == started)
        }
    }

    @Test("start by another agent is forbidden")
    func startByOther() async throws {
        try await withStore { store in
            let (task, _) = try await store.seedTask(in: .assigned)
            let other = try await store.seedAgent()
            await expectStoreError(.forbidden) { try await store.startTask(id: task.id, agentID: other.id, at: t0) }
            #expect(try await store.task(id: task.id)?.status == .assigned)
        }
    }

    @Test("start of a queued task (nobody's yet) is forbidden; of an unknown task not found")
    func startQueued() async throws {
        try await withStore { store in
            let task = try await store.seedTask()
            let agent = try await store.seedAgent()
            await expectStoreError(.forbidden) { try await store.startTask(id: task.id, agentID: agent.id, at: t0) }
            await expectStoreError(.notFound) { try await store.startTask(id: "tsk_missing", agentID: agent.id, at: t0) }
        }
    }

    // A lost task's agent may still say it started (a late result may follow): LateResultTests.
    @Test("start of a finished task is a conflict", arguments: TaskStatus.terminal.filter { $0 != .lost })
    func startTerminal(status: TaskStatus) async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: status)
            let agent = try #require(agentID)
            await expectStoreError(.conflict) { try await store.startTask(id: task.id, agentID: agent, at: t0) }
            #expect(try await store.task(id: task.id) == task)
        }
    }
}
