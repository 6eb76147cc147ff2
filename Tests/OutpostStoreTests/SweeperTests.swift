import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Lost agents and timeouts")
struct SweeperTests {
    @Test("taking an agent offline loses its assigned and running tasks, and only those")
    func markAgentOffline() async throws {
        try await withStore { store in
            let agent = try await store.seedAgent()
            let other = try await store.seedAgent()
            let assigned = try await store.seedTask(createdAt: t0)
            let running = try await store.seedTask(createdAt: t0.addingTimeInterval(1))
            let finished = try await store.seedTask(createdAt: t0.addingTimeInterval(2))
            let othersTask = try await store.seedTask(createdAt: t0.addingTimeInterval(3))
            let queued = try await store.seedTask(createdAt: t0.addingTimeInterval(4))
            for task in [assigned, running, finished] {
                _ = try await store.claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: t0)
            }
            _ = try await store.claimTask(id: othersTask.id, agentID: other.id, agentName: other.name, at: t0)
            _ = try await store.startTask(id: running.id, agentID: agent.id, at: t0)
            _ = try await store.startTask(id: finished.id, agentID: agent.id, at: t0)
            _ = try await store.finishTask(
                id: finished.id, agentID: agent.id,
                finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 0), at: t0)

            let lost = try await store.markAgentOffline(
                id: agent.id, at: t0.addingTimeInterval(90), reason: "agent missed heartbeats for 60s")
            #expect(lost.map(\.id) == [assigned.id, running.id])
            for task in lost {
                #expect(task.status == .lost)
                #expect(task.error == "agent missed heartbeats for 60s")
                #expect(task.finishedAt == t0.addingTimeInterval(90))
            }
            #expect(try await store.agent(id: agent.id)?.status == .offline)
            #expect(try await store.task(id: finished.id)?.status == .succeeded)
            #expect(try await store.task(id: othersTask.id)?.status == .assigned)
            #expect(try await store.task(id: queued.id)?.status == .queued)
            #expect(try await store.activeTasks().map(\.id) == [othersTask.id])

            // Again: nothing left to lose.
            #expect(try await store.markAgentOffline(id: agent.id, at: t0, reason: "again").isEmpty)
            await expectStoreError(.notFound) { try await store.markAgentOffline(id: "agt_missing", at: t0, reason: "x") }
        }
    }

    @Test("a task past its timeout plus grace times out; one within it does not")
    func timeouts() async throws {
        try await withStore { store in
            // Running: deadline from started_at. Assigned (never started): from assigned_at.
            let agent = try await store.seedAgent()
            let running = try await store.seedTask(timeoutSeconds: 60)
            let assigned = try await store.seedTask(timeoutSeconds: 30)
            let patient = try await store.seedTask(timeoutSeconds: 600)
            for task in [running, assigned, patient] {
                _ = try await store.claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: t0)
            }
            _ = try await store.startTask(id: running.id, agentID: agent.id, at: t0.addingTimeInterval(20))
            _ = try await store.startTask(id: patient.id, agentID: agent.id, at: t0)

            // At t0+85: running's deadline is 20+60+10 = 90 (not yet); assigned's 0+30+10 = 40 (passed).
            let first = try await store.timeOutOverdueTasks(now: t0.addingTimeInterval(85), grace: 10)
            #expect(first.map(\.id) == [assigned.id])
            #expect(first.first?.status == .timedOut)
            #expect(first.first?.error == "no result from agent within timeout (30s) plus grace")
            #expect(first.first?.finishedAt == t0.addingTimeInterval(85))

            let second = try await store.timeOutOverdueTasks(now: t0.addingTimeInterval(91), grace: 10)
            #expect(second.map(\.id) == [running.id])
            #expect(second.first?.error == "no result from agent within timeout (60s) plus grace")
            #expect(try await store.task(id: patient.id)?.status == .running)

            // Timed-out tasks stay timed out; a late finish with another verdict is refused.
            #expect(try await store.timeOutOverdueTasks(now: t0.addingTimeInterval(100), grace: 10).isEmpty)
            await expectStoreError(.conflict) {
                try await store.finishTask(
                    id: running.id, agentID: agent.id,
                    finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 0), at: t0)
            }
        }
    }

    @Test("queued and finished tasks never time out", arguments: [TaskStatus.queued] + TaskStatus.terminal)
    func noTimeout(status: TaskStatus) async throws {
        try await withStore { store in
            let (task, _) = try await store.seedTask(in: status)
            #expect(try await store.timeOutOverdueTasks(now: t0.addingTimeInterval(1_000_000), grace: 0).isEmpty)
            #expect(try await store.task(id: task.id) == task)
        }
    }
}
