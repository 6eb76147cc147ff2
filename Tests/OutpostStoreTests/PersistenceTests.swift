import Foundation
import OutpostCore
@testable import OutpostStore
import SQLKit
import Testing

@Suite("Files, migrations and shutdown")
struct PersistenceTests {
    /// A fresh directory under the system temporary directory, removed afterwards.
    private func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await body(dir)
    }

    @Test("a file database keeps its data across reopening, and migrating again is a no-op")
    func reopen() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("outpost.sqlite").path

            let first = try await SQLiteHubStore.open(path: path, logger: quietLogger)
            try await first.migrate()
            try await first.migrate()
            try await first.insertTarget(Target(name: "local", integration: "bash", createdAt: t0))
            let (task, agentID) = try await first.seedTask(in: .running)
            _ = try await first.appendLog(taskID: task.id, agentID: #require(agentID), offset: 0, bytes: Array("kept".utf8))
            #expect(try await first.appliedMigrations() == Migration.all.map(\.version))
            await first.shutdown()

            let second = try await SQLiteHubStore.open(path: path, logger: quietLogger)
            try await second.migrate()
            #expect(try await second.appliedMigrations() == Migration.all.map(\.version))
            #expect(try await second.target(named: "local")?.integration == "bash")
            #expect(try await second.task(id: task.id)?.status == .running)
            #expect(try await second.readLog(taskID: task.id, offset: 0, limit: 100).bytes == Array("kept".utf8))
            await second.shutdown()
        }
    }

    @Test("a file database runs in WAL mode with foreign keys on")
    func pragmas() async throws {
        try await withTemporaryDirectory { dir in
            let store = try await SQLiteHubStore.open(path: dir.appendingPathComponent("db.sqlite").path, logger: quietLogger)
            let (mode, keys) = try await store.read("reading pragmas") { db in
                (
                    try await db.raw("PRAGMA journal_mode").first()?.column("journal_mode", as: String.self),
                    try await db.raw("PRAGMA foreign_keys").first()?.column("foreign_keys", as: Int.self)
                )
            }
            await store.shutdown()
            #expect(mode == "wal")
            #expect(keys == 1)
        }
    }

    @Test("opening a file in a missing directory fails with a database error naming the path")
    func missingDirectory() async throws {
        let path = "/nonexistent-\(UUID().uuidString)/outpost.sqlite"
        let error = await expectStoreError(.database) { try await SQLiteHubStore.open(path: path, logger: quietLogger) }
        #expect(error?.message.contains(path) == true)
    }

    @Test("a later migration is applied once, after the earlier ones")
    func laterMigration() async throws {
        try await withStore { store in
            let released = Migration.all.map(\.version)
            let extra = Migration(version: (released.max() ?? 0) + 1, name: "notes") { _ in
                ["CREATE TABLE notes (id TEXT PRIMARY KEY)"]
            }
            try await store.migrate(to: Migration.all + [extra])
            try await store.migrate(to: Migration.all + [extra])
            #expect(try await store.appliedMigrations() == released + [extra.version])
        }
    }

    @Test("a failing migration leaves no trace: all of it or nothing")
    func failingMigration() async throws {
        try await withStore { store in
            let released = Migration.all.map(\.version)
            let next = (released.max() ?? 0) + 1
            let broken = Migration(version: next, name: "broken") { _ in
                ["CREATE TABLE half (id TEXT)", "THIS IS NOT SQL"]
            }
            await expectStoreError(.database) { try await store.migrate(to: Migration.all + [broken]) }
            #expect(try await store.appliedMigrations() == released)
            let fixed = Migration(version: next, name: "fixed") { _ in ["CREATE TABLE half (id TEXT)"] }
            try await store.migrate(to: Migration.all + [fixed])
            #expect(try await store.appliedMigrations() == released + [next])
        }
    }

    @Test("a database from a newer Outpost is refused")
    func newerSchema() async throws {
        try await withStore { store in
            let future = Migration(version: 99, name: "future") { _ in [] }
            try await store.migrate(to: Migration.all + [future])
            let error = await expectStoreError(.database) { try await store.migrate() }
            #expect(error?.message.contains("99") == true)
        }
    }

    @Test("calls after shutdown fail with a database error")
    func afterShutdown() async throws {
        let store = try await SQLiteHubStore.inMemory(logger: quietLogger)
        try await store.migrate()
        await store.shutdown()
        await expectStoreError(.database) { try await store.listTargets() }
        await store.shutdown()
    }
}
