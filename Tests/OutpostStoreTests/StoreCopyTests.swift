import Foundation
import OutpostCore
import OutpostTestSupport
import SQLKit
import Testing

@testable import OutpostStore

/// `outpost server migrate-store` at the store level: a hub's SQLite database copied
/// into PostgreSQL, read back through the same store API.
@Suite("Copying a store from SQLite to PostgreSQL")
struct StoreCopyTests {
    @Test("every table of the migrated schema is one the copy knows, with the same columns on both databases")
    func everyTableIsCopied() async throws {
        var columnsByBackend: [[String: [StoredColumn]]] = []
        try await withStore { store in
            let tables = try await store.tableNames()
            #expect(
                tables.subtracting([StoreTable.migrations]) == Set(StoreTable.all.map(\.name)),
                "a migration added a table: add it to StoreTable.all \(onBackend)")
            var columns: [String: [StoredColumn]] = [:]
            for table in StoreTable.all {
                columns[table.name] = try await store.read("listing columns") { db in
                    try await CopyEndpoint(db: db, dialect: store.dialect).columns(of: table.name)
                }
                let names = Set(columns[table.name]?.map(\.name) ?? [])
                #expect(Set(table.key).isSubset(of: names), "\(table.name) has its key columns \(onBackend)")
            }
            columnsByBackend.append(columns)
        }
        if columnsByBackend.count == 2 { #expect(columnsByBackend[0] == columnsByBackend[1]) }
    }

    @Test(
        "a hub with every kind of row reads back the same from PostgreSQL: tokens, types, targets, agents, tasks, logs",
        .postgresAvailable, arguments: [false, true])
    func copiesEverything(destinationAlreadyMigrated: Bool) async throws {
        try await withCopyStores { source, destination, _ in
            let seeded = try await source.seedEveryKindOfRow()
            if destinationAlreadyMigrated { try await destination.migrate() }
            var reported: [StoreCopier.CopiedTable] = []
            let report = try await StoreCopier.copy(from: source, to: destination) { reported.append($0) }

            let counts = try await source.rowCounts()
            #expect(report.tables == StoreTable.all.map { StoreCopier.CopiedTable(name: $0.name, rows: counts[$0.name] ?? -1) })
            #expect(reported == report.tables)
            #expect(report.schemaVersion == Migration.all.map(\.version).max())
            #expect(try await destination.appliedMigrations() == Migration.all.map(\.version))
            #expect(try await destination.dump() == source.dump(), "every column of every row, exactly")
            try await expectSameHub(source, destination, seeded)

            // The copy is a working hub database: the running task's log goes on where it
            // stopped, and the queued task's pins still decide who may claim it.
            let running = try #require(await source.task(id: seeded.runningTask.id))
            #expect(
                try await destination.appendLog(
                    taskID: running.id, agentID: seeded.runningTask.agentID, offset: running.logBytes, bytes: [1, 2])
                    == running.logBytes + 2)
            let unpinned = try await destination.seedAgent(name: "unpinned", tags: TagSet(["prod", "eu"]))
            await expectStoreError(.forbidden) {
                try await destination.claimTask(id: seeded.queuedTask, agentID: unpinned.id, agentName: unpinned.name, at: t0)
            }
            let pinned = AgentRecord(
                id: "agt_claimer", name: "claimer", type: "pinned", tags: TagSet(["prod", "eu"]), status: .online,
                version: "1.2.3", os: "linux", concurrency: 1, providerFingerprint: "fp", registeredAt: t0, lastSeenAt: t0)
            try await destination.insertAgent(pinned, tokenHash: "agent-hash-claimer")
            #expect(try await destination.claimTask(id: seeded.queuedTask, agentID: pinned.id, agentName: pinned.name, at: t0) != nil)
        }
    }

    /// Reads everything back through the `HubStore` API on both stores and expects the same.
    private func expectSameHub(_ source: any HubStore, _ destination: any HubStore, _ seeded: SeededHub) async throws {
        #expect(try await destination.listAPITokens() == source.listAPITokens())
        #expect(try await destination.countAPITokens() == source.countAPITokens())
        for hash in seeded.apiTokenHashes {
            let token = try await destination.apiToken(hash: hash)
            let original = try await source.apiToken(hash: hash)
            #expect(token != nil && token == original, "token \(token?.name ?? "missing")")
        }
        #expect(try await destination.apiToken(hash: seeded.revokedAPITokenHash) == nil, "still revoked")

        #expect(try await destination.listAgentTypes() == source.listAgentTypes())
        for hash in seeded.registrationHashes {
            let type = try await destination.agentType(registrationTokenHash: hash)
            let original = try await source.agentType(registrationTokenHash: hash)
            #expect(type != nil && type == original)
        }
        let types = try await destination.listAgentTypes()
        #expect(types.first { $0.name == "pinned" }?.requireClientCertificate == true)
        #expect(types.first { $0.name == "pinned" }?.allowedTags.map(\.description) == ["prod", "team-*"])

        #expect(try await destination.listTargets() == source.listTargets())
        #expect(try await destination.target(named: "orders")?.agentTypes == ["pinned"])

        #expect(try await destination.listAgents(includeOffline: true) == source.listAgents(includeOffline: true))
        for hash in seeded.agentTokenHashes {
            let agent = try await destination.agent(tokenHash: hash)
            let original = try await source.agent(tokenHash: hash)
            #expect(agent != nil && agent == original)
        }

        let tasks = try await source.listTasks(status: nil, limit: 1_000)
        #expect(Set(tasks.map(\.status)) == Set(TaskStatus.allCases), "the seed covers every status")
        #expect(try await destination.listTasks(status: nil, limit: 1_000) == tasks)
        for task in tasks { #expect(try await destination.task(id: task.id) == task) }
        #expect(tasks.contains { $0.status == .lost && $0.lateStatus == .succeeded && $0.lateLogOffset == 7 })
        #expect(try await destination.queuedTasks() == source.queuedTasks())
        #expect(try await destination.activeTasks() == source.activeTasks())

        for id in seeded.loggedTasks {
            let copied = try await destination.readLog(taskID: id, offset: 0, limit: 1 << 20)
            let original = try await source.readLog(taskID: id, offset: 0, limit: 1 << 20)
            #expect(copied == original)
            #expect(copied.bytes.count > 0)
        }
        let running = try await destination.readLog(taskID: seeded.runningTask.id, offset: 0, limit: 1 << 20)
        #expect(running.bytes == Array("starting\n".utf8) + everyByte + [0x00] + Array("\r\nend".utf8))
    }

    @Test("a log larger than a page, in more chunks than a page has rows, arrives byte-identical", .postgresAvailable)
    func largeLog() async throws {
        try await withCopyStores { source, destination, _ in
            let (task, agentID) = try await source.seedTask(in: .running)
            let agent = try #require(agentID)
            var expected: [UInt8] = []
            var offset: Int64 = 0
            // Small chunks past a page's row limit, then chunks each larger than a page's bytes.
            let chunks =
                (0..<(TableCopy.pageRows + 100)).map { index in everyByte.shuffled().prefix(1 + index % 200).map { $0 } }
                + (1...2).map { seed in
                    (0..<(Int(TableCopy.pageBytes) + 1_000)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed) >> 7) }
                }
            for chunk in chunks {
                offset = try await source.appendLog(taskID: task.id, agentID: agent, offset: offset, bytes: chunk)
                expected += chunk
            }
            let report = try await StoreCopier.copy(from: source, to: destination)
            #expect(report.tables.first { $0.name == "task_log_chunks" }?.rows == chunks.count)
            var copied: [UInt8] = []
            var next: Int64 = 0
            while true {
                let slice = try await destination.readLog(taskID: task.id, offset: next, limit: 1 << 20)
                if slice.bytes.isEmpty { break }
                copied += slice.bytes
                next = slice.nextOffset
            }
            #expect(copied.count == expected.count)
            #expect(copied == expected)
        }
    }

    @Test("a destination with hub data is refused, naming the tables and counts, and left as it was", .postgresAvailable)
    func nonEmptyDestination() async throws {
        try await withCopyStores { source, destination, _ in
            _ = try await source.seedEveryKindOfRow()
            // An older schema with rows: refused before the copy would migrate it.
            try await destination.migrate(to: Array(Migration.all.prefix(4)))
            try await destination.insertTarget(Target(name: "theirs", integration: "bash", createdAt: t0))
            try await destination.insertAPIToken(
                APITokenRow(id: "tok_theirs", name: "theirs", hash: "their-hash", role: "admin", createdAt: t0))
            let before = try await destination.dump()

            let error = await expectStoreError(.conflict) { try await StoreCopier.copy(from: source, to: destination) }
            #expect(error?.message.contains("api_tokens (1 row)") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("targets (1 row)") == true)
            #expect(error?.message.contains("tasks") == false, "only tables with rows are named")

            #expect(try await destination.appliedMigrations() == Array(1...4), "not migrated")
            #expect(try await destination.dump() == before)
        }
    }

    @Test("a destination a newer Outpost migrated is refused, even empty, and left as it was", .postgresAvailable)
    func newerDestination() async throws {
        try await withCopyStores { source, destination, _ in
            _ = try await source.seedEveryKindOfRow()
            let future = Migration(version: 999, name: "future") { _ in ["CREATE TABLE future_things (id TEXT PRIMARY KEY)"] }
            try await destination.migrate(to: Migration.all + [future])
            let error = await expectStoreError(.conflict) { try await StoreCopier.copy(from: source, to: destination) }
            #expect(error?.message.contains("the destination has schema version 999") == true, "\(error?.message ?? "")")
            #expect(try await destination.rowCounts() == Dictionary(uniqueKeysWithValues: StoreTable.all.map { ($0.name, 0) }))
        }
    }

    /// A source that the copy accepts but cannot carry over, failing after several tables were written.
    enum Breakage: String, CaseIterable, Sendable {
        /// SQLite let text into a REAL column; the copy refuses the value.
        case textInRealColumn = "text in a timestamp column"
        /// A NUL character, which SQLite keeps in text and PostgreSQL refuses.
        case nulInText = "a NUL character in text"

        var statement: String {
            switch self {
            case .textInRealColumn: "UPDATE tasks SET finished_at = 'secret-value' WHERE status = 'succeeded'"
            case .nulInText: "UPDATE tasks SET error = 'secret-value' || char(0) WHERE status = 'failed'"
            }
        }
    }

    @Test("a copy that fails midway leaves the destination empty, and says where without the value", .postgresAvailable,
        arguments: Breakage.allCases)
    func failureMidway(breakage: Breakage) async throws {
        try await withCopyStores { source, destination, _ in
            _ = try await source.seedEveryKindOfRow()
            try await source.write("breaking the source") { db in try await db.raw(SQLQueryString(breakage.statement)).run() }

            var reported: [String] = []
            let error = await expectStoreError(.database) {
                try await StoreCopier.copy(from: source, to: destination) { reported.append($0.name) }
            }
            #expect(reported == ["api_tokens", "console_sessions", "agent_types", "targets", "agents"], "tables before tasks were written")
            let message = error?.message ?? ""
            #expect(message.contains("tasks"), "\(message)")
            if breakage == .textInRealColumn { #expect(message.contains("finished_at"), "\(message)") }
            #expect(!message.contains("secret-value"))
            #expect(!message.contains("hash"))

            #expect(try await destination.appliedMigrations() == Migration.all.map(\.version), "migrated")
            #expect(try await destination.rowCounts() == Dictionary(uniqueKeysWithValues: StoreTable.all.map { ($0.name, 0) }))
            // Empty, so a second attempt (after fixing the source) is not refused.
            try await source.write("repairing the source") { db in
                try await db.raw("UPDATE tasks SET finished_at = 1700000000.5 WHERE typeof(finished_at) = 'text'").run()
                try await db.raw("UPDATE tasks SET error = 'repaired' WHERE instr(error, char(0)) > 0").run()
            }
            #expect(try await StoreCopier.copy(from: source, to: destination).rows > 0)
        }
    }

    /// Sources the copy refuses before writing anything.
    enum UnfitSource: String, CaseIterable, Sendable {
        case notAHubDatabase = "not a hub database"
        case olderSchema = "an older schema"
        case newerSchema = "a newer schema"
        case unknownTable = "a table the copy does not know"

        func prepare(_ store: SQLiteHubStore) async throws {
            switch self {
            case .notAHubDatabase:
                try await store.write("") { db in try await db.raw("CREATE TABLE notes (body TEXT)").run() }
            case .olderSchema:
                try await store.migrate(to: Array(Migration.all.dropLast()))
            case .newerSchema:
                let future = Migration(version: 999, name: "future") { _ in ["ALTER TABLE tasks ADD COLUMN future TEXT"] }
                try await store.migrate(to: Migration.all + [future])
            case .unknownTable:
                try await store.migrate()
                try await store.write("") { db in try await db.raw("CREATE TABLE extra_things (id TEXT PRIMARY KEY)").run() }
            }
        }

        var expected: String {
            switch self {
            case .notAHubDatabase: "no Outpost schema"
            case .olderSchema: "older than this Outpost's \(Migration.all.map(\.version).max() ?? 0): start this Outpost's hub on it once"
            case .newerSchema: "schema version 999, newer than this Outpost knows"
            case .unknownTable: "extra_things"
            }
        }
    }

    @Test("a source of another schema version, or not a hub's, is refused before the destination is touched",
        .postgresAvailable, arguments: UnfitSource.allCases)
    func unfitSource(source kind: UnfitSource) async throws {
        try await withCopyStores(migrateSource: false) { source, destination, _ in
            try await kind.prepare(source)
            let error = await expectStoreError(.conflict) { try await StoreCopier.copy(from: source, to: destination) }
            #expect(error?.message.contains(kind.expected) == true, "\(error?.message ?? "")")
            #expect(try await destination.tableNames().isEmpty)
        }
    }

    @Test("a missing SQLite file is an error, not a new empty database")
    func missingSource() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-missing-\(UUID()).sqlite").path
        let error = await expectStoreError(.database) { try await SQLiteHubStore.openExisting(path: path, logger: quietLogger) }
        #expect(error?.message.contains(path) == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
