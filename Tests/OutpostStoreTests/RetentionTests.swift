import Foundation
import OutpostCore
import SQLKit
import Testing

@testable import OutpostStore

@Suite("Retention of finished tasks")
struct RetentionTests {
    /// The retention cutoff of these tests: tasks seeded at `t0` end before it (a timed-out
    /// one an hour later), tasks seeded at the cutoff end at or after it.
    let cutoff = t0.addingTimeInterval(10_000)

    @Test("only finished tasks that ended before the cutoff go, with their logs; unfinished ones stay however old")
    func onlyOldFinishedTasks() async throws {
        try await withStore { store in
            var old: [String] = []
            var kept: [String] = []
            for status in TaskStatus.seedingOrder {
                let (task, _) = try await store.seedTask(in: status, at: t0)
                if status.isTerminal { old.append(task.id) } else { kept.append(task.id) }
                if status.isTerminal { kept.append(try await store.seedTask(in: status, at: cutoff).task.id) }
            }
            // Created long before the cutoff but finished after it: it ended too recently.
            let longRunner = try await runWithLog(store, createdAt: t0, finishedAt: cutoff.addingTimeInterval(1))
            kept.append(longRunner)
            // Ended exactly at the cutoff: not before it.
            kept.append(try await store.seedTask(in: .failed, at: cutoff).task.id)
            // Rejected without ever running: no finished_at, so its creation time counts.
            let rejected = TaskRecord(id: "tsk_rejected_unrun", target: "local", status: .rejected, createdAt: t0, timeoutSeconds: 60)
            try await store.insertTask(
                rejected, assignment: TaskAssignment(taskID: rejected.id, target: Target(name: "local", integration: "bash", createdAt: t0),
                    script: "true", timeoutSeconds: 60), tags: .empty)
            old.append(rejected.id)
            let oldWithLog = try await runWithLog(store, createdAt: t0, finishedAt: t0.addingTimeInterval(10))
            old.append(oldWithLog)

            #expect(try await store.deleteFinishedTasks(finishedBefore: cutoff, limit: 100) == old.count)
            for id in old {
                #expect(try await store.task(id: id) == nil, "\(id) should be gone \(onBackend)")
            }
            for id in kept {
                #expect(try await store.task(id: id) != nil, "\(id) should stay \(onBackend)")
            }
            #expect(try await logChunks(store, taskID: oldWithLog) == 0, "its log went with it")
            #expect(try await logChunks(store, taskID: longRunner) == 2, "a kept task keeps its log")
            #expect(try await store.deleteFinishedTasks(finishedBefore: cutoff, limit: 100) == 0, "nothing left to delete")
            // However far the cutoff moves, unfinished tasks stay.
            #expect(try await store.deleteFinishedTasks(finishedBefore: .distantFuture, limit: 100) == kept.count - 3)
            #expect(try await store.listTasks(status: nil, limit: 100).map(\.status).sorted { $0.rawValue < $1.rawValue }
                == [.assigned, .queued, .running])
        }
    }

    @Test("a backlog goes in batches of at most the limit, oldest first", arguments: [(25, 10), (1_205, 1_000)])
    func batches(count: Int, limit: Int) async throws {
        try await withStore { store in
            let seeding = try #require(store as? any BenchmarkSeeding)
            let prefix = try await seeding.seedFinishedTasksForBenchmark(count: count, createdAt: t0)
            let queued = try await store.seedTask(createdAt: t0.addingTimeInterval(-86_400))
            #expect(try await store.deleteFinishedTasks(finishedBefore: cutoff, limit: 0) == 0)

            var batches: [Int] = []
            while true {
                let deleted = try await store.deleteFinishedTasks(finishedBefore: .distantFuture, limit: limit)
                batches.append(deleted)
                if batches.count == 1 {
                    // The oldest went first: the next oldest is the first batch's successor.
                    #expect(try await store.task(id: prefix + String(limit - 1)) == nil)
                    #expect(try await store.task(id: prefix + String(limit)) != nil)
                }
                if deleted < limit { break }
            }
            #expect(batches == Array(repeating: limit, count: count / limit) + [count % limit])
            #expect(try await store.listTasks(status: nil, limit: 10).map(\.id) == [queued.id])
        }
    }

    /// A task that ran with two log chunks; returns its id.
    private func runWithLog(_ store: any SQLHubStore, createdAt: Date, finishedAt: Date) async throws -> String {
        let task = try await store.seedTask(createdAt: createdAt)
        let agent = try await store.seedAgent()
        _ = try await store.claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: createdAt)
        _ = try await store.startTask(id: task.id, agentID: agent.id, at: createdAt)
        _ = try await store.appendLog(taskID: task.id, agentID: agent.id, offset: 0, bytes: Array("hello ".utf8))
        _ = try await store.appendLog(taskID: task.id, agentID: agent.id, offset: 6, bytes: Array("world".utf8))
        _ = try await store.finishTask(
            id: task.id, agentID: agent.id, finish: FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 11),
            at: finishedAt)
        return task.id
    }

    private func logChunks(_ store: any SQLHubStore, taskID: String) async throws -> Int {
        try await store.read("counting log chunks") { db in
            try await db.raw("SELECT COUNT(*) AS n FROM task_log_chunks WHERE task_id = \(bind: taskID)").first()?
                .column("n", as: Int.self) ?? -1
        }
    }
}
