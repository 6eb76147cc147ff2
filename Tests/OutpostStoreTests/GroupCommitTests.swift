import Foundation
import OutpostCore
import OutpostTestSupport
import SQLKit
import Synchronization
import Testing

@testable import OutpostStore

/// The SQLite store's group commit (`ConnectionGate`): writes that queue behind a
/// busy connection share one transaction, each still succeeding or failing alone.
@Suite("Group commit")
struct GroupCommitTests {
    private struct Deliberate: Error {}

    @Test("131 writes queued behind a busy connection commit in 3 transactions; a failing one rolls back alone")
    func queuedWritesShareTransactions() async throws {
        let store = try await SQLiteHubStore.inMemory(logger: quietLogger)
        try await store.migrate()
        let kept = try await store.seedTask(id: "tsk_kept")

        // A read holds the connection until the test lets go, so every write queues.
        let (release, letGo) = AsyncStream<Void>.makeStream()
        let holding = Mutex(false)
        let holder = Task {
            try await store.read("holding the connection") { _ in
                holding.withLock { $0 = true }
                for await _ in release { break }
            }
        }
        #expect(await eventually { holding.withLock { $0 } })
        let before = await store.writeStatistics()

        let ids = (0..<129).map { "tsk_group_\($0)" }
        async let inserted: [String] = withThrowingTaskGroup(of: String.self) { group in
            for id in ids { group.addTask { try await store.seedTask(id: id).id } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // The id is taken: refused with .conflict, the others unaffected.
        async let duplicate: StoreError? = expectStoreError(.conflict) { try await store.seedTask(id: kept.id) }
        // Writes, then fails: what it wrote must not survive in the group's commit.
        async let partial: Bool = Self.failsHalfWay(store, taskID: kept.id)
        #expect(await eventually { await store.queuedWrites == 131 })
        letGo.yield()
        try await holder.value

        #expect(try await inserted.sorted() == ids.sorted())
        #expect(await duplicate != nil)
        #expect(await partial)
        #expect(try await store.task(id: kept.id)?.error == nil)
        for id in ids { #expect(try await store.task(id: id)?.status == .queued) }

        let after = await store.writeStatistics()
        #expect(after.writes - before.writes == 131)
        // Groups of at most 64: 64 + 64 + 3.
        #expect(after.transactions - before.transactions == 3)
        await store.shutdown()
    }

    /// A write that changes the task, then fails; whether the store reported the failure.
    private static func failsHalfWay(_ store: SQLiteHubStore, taskID: String) async -> Bool {
        do {
            try await store.write("a write that fails half-way") { db in
                try await db.raw("UPDATE tasks SET error = 'half-way' WHERE id = \(bind: taskID)").run()
                throw Deliberate()
            }
            return false
        } catch {
            return true
        }
    }

    @Test("a lone write is its own transaction and a failing one leaves nothing behind")
    func loneWrites() async throws {
        let store = try await SQLiteHubStore.inMemory(logger: quietLogger)
        try await store.migrate()
        let task = try await store.seedTask()
        let before = await store.writeStatistics()
        #expect(await Self.failsHalfWay(store, taskID: task.id))
        #expect(try await store.task(id: task.id)?.error == nil)
        try await store.seedTask()
        let after = await store.writeStatistics()
        #expect(after.transactions - before.transactions == 1)
        #expect(after.writes - before.writes == 1)
        await store.shutdown()
    }
}
