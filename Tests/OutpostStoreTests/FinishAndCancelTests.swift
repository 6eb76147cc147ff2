import Foundation
import OutpostCore
@testable import OutpostStore
import Testing

@Suite("Finishing and cancelling tasks")
struct FinishAndCancelTests {
    static let verdicts: [TaskStatus] = [.succeeded, .failed, .cancelled, .timedOut, .rejected]

    @Test("an agent's verdict ends an assigned or running task", arguments: TaskStatus.active, Self.verdicts)
    func finish(from: TaskStatus, verdict: TaskStatus) async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: from)
            let agent = try #require(agentID)
            let finish = FinishRequest(status: verdict, exitCode: 3, error: "exit 3", logBytes: 0)
            let done = try await store.finishTask(id: task.id, agentID: agent, finish: finish, at: t0.addingTimeInterval(7))
            #expect(done.status == verdict)
            #expect(done.exitCode == 3)
            #expect(done.error == "exit 3")
            #expect(done.finishedAt == t0.addingTimeInterval(7))
            #expect(try await store.task(id: task.id) == done)
        }
    }

    @Test("repeating a finish returns the task unchanged")
    func finishIdempotent() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .running)
            let agent = try #require(agentID)
            _ = try await store.appendLog(taskID: task.id, agentID: agent, offset: 0, bytes: Array("done\n".utf8))
            let finish = FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 5)
            let first = try await store.finishTask(id: task.id, agentID: agent, finish: finish, at: t0.addingTimeInterval(1))
            let again = try await store.finishTask(id: task.id, agentID: agent, finish: finish, at: t0.addingTimeInterval(9))
            #expect(again == first)
        }
    }

    @Test("a different verdict after the finish is a conflict")
    func finishDifferentVerdict() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .succeeded)
            let agent = try #require(agentID)
            let finish = FinishRequest(status: .failed, exitCode: 1, error: nil, logBytes: 0)
            await expectStoreError(.conflict) {
                try await store.finishTask(id: task.id, agentID: agent, finish: finish, at: t0)
            }
            #expect(try await store.task(id: task.id) == task)
        }
    }

    @Test("a finish reporting more log bytes than stored is refused as log incomplete")
    func finishLogIncomplete() async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .running)
            let agent = try #require(agentID)
            _ = try await store.appendLog(taskID: task.id, agentID: agent, offset: 0, bytes: Array("abc".utf8))
            let error = await expectStoreError(.logIncomplete(stored: 3)) {
                try await store.finishTask(
                    id: task.id, agentID: agent,
                    finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 10), at: t0)
            }
            #expect(error?.message.hasPrefix("log incomplete") == true)
            #expect(try await store.task(id: task.id)?.status == .running)

            _ = try await store.appendLog(taskID: task.id, agentID: agent, offset: 3, bytes: Array("defghij".utf8))
            let done = try await store.finishTask(
                id: task.id, agentID: agent,
                finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 10), at: t0)
            #expect(done.status == .succeeded)
        }
    }

    @Test("an agent cannot report a status it does not own", arguments: [TaskStatus.lost, .queued, .assigned, .running])
    func finishWithBadStatus(status: TaskStatus) async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: .running)
            let agent = try #require(agentID)
            await expectStoreError(.conflict) {
                try await store.finishTask(
                    id: task.id, agentID: agent, finish: FinishRequest(status: status, exitCode: nil, error: nil, logBytes: 0),
                    at: t0)
            }
        }
    }

    @Test("finish by another agent is forbidden, of an unknown task not found, of a queued task forbidden")
    func finishRefusals() async throws {
        try await withStore { store in
            let (task, _) = try await store.seedTask(in: .running)
            let other = try await store.seedAgent()
            let finish = FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 0)
            await expectStoreError(.forbidden) {
                try await store.finishTask(id: task.id, agentID: other.id, finish: finish, at: t0)
            }
            await expectStoreError(.notFound) {
                try await store.finishTask(id: "tsk_missing", agentID: other.id, finish: finish, at: t0)
            }
            let queued = try await store.seedTask()
            await expectStoreError(.forbidden) {
                try await store.finishTask(id: queued.id, agentID: other.id, finish: finish, at: t0)
            }
        }
    }

    @Test("cancelling a queued task cancels it at once")
    func cancelQueued() async throws {
        try await withStore { store in
            let task = try await store.seedTask()
            let cancelled = try await store.requestCancel(id: task.id, at: t0.addingTimeInterval(2))
            #expect(cancelled.status == .cancelled)
            #expect(cancelled.finishedAt == t0.addingTimeInterval(2))
            #expect(cancelled.error != nil)
            #expect(try await store.queuedTasks().isEmpty)
            let agent = try await store.seedAgent()
            #expect(try await store.claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: t0) == nil)
        }
    }

    @Test("cancelling a task an agent holds only requests it, once; the agent then finishes it cancelled",
          arguments: TaskStatus.active)
    func cancelHeld(status: TaskStatus) async throws {
        try await withStore { store in
            let (task, agentID) = try await store.seedTask(in: status)
            let agent = try #require(agentID)
            let requested = try await store.requestCancel(id: task.id, at: t0)
            #expect(requested.status == status)
            #expect(requested.cancelRequested)
            #expect(try await store.requestCancel(id: task.id, at: t0) == requested)
            #expect(try await store.activeTasks().first?.cancelRequested == true)

            let done = try await store.finishTask(
                id: task.id, agentID: agent,
                finish: FinishRequest(status: .cancelled, exitCode: 143, error: "cancelled by user", logBytes: 0), at: t0)
            #expect(done.status == .cancelled)
        }
    }

    @Test("cancelling a finished task changes nothing", arguments: TaskStatus.terminal)
    func cancelTerminal(status: TaskStatus) async throws {
        try await withStore { store in
            let (task, _) = try await store.seedTask(in: status)
            #expect(try await store.requestCancel(id: task.id, at: t0.addingTimeInterval(60)) == task)
        }
    }

    @Test("cancelling an unknown task is not found")
    func cancelUnknown() async throws {
        _ = try await withStore { store in
            await expectStoreError(.notFound) { try await store.requestCancel(id: "tsk_missing", at: t0) }
        }
    }
}
