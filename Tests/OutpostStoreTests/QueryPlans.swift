import Foundation
import Logging
import NIOCore
import SQLKit
import Synchronization
import Testing

@testable import OutpostStore

/// A store that runs every operation on `base` and keeps each statement it sends, so
/// a test can ask the database how it plans exactly what the store ran — not a copy
/// of the SQL that could drift from it.
final class StatementRecordingStore: SQLHubStore {
    let base: any SQLHubStore
    private let statements = Mutex<[any SQLExpression]>([])

    init(_ base: any SQLHubStore) {
        self.base = base
    }

    var dialect: StoreDialect { base.dialect }
    var logger: Logger { base.logger }

    /// The base store stays open: whoever made it shuts it down.
    func shutdown() async {}

    func write<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        try await base.write(operation) { db in try await body(RecordingDatabase(base: db, store: self)) }
    }

    func read<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        try await base.read(operation) { db in try await body(RecordingDatabase(base: db, store: self)) }
    }

    fileprivate func record(_ statement: any SQLExpression) {
        statements.withLock { $0.append(statement) }
    }

    /// Runs `operation` and returns the plans of the statements it sent, in order.
    func plans(of operation: () async throws -> Void) async throws -> [QueryPlan] {
        statements.withLock { $0.removeAll() }
        try await operation()
        let sent = statements.withLock { $0 }
        let backend = dialect.name == StoreDialect.postgres.name ? StoreBackend.postgres : .sqlite
        // In a write transaction: PostgreSQL explains an UPDATE only where it could run it.
        return try await base.write("explaining \(sent.count) statements") { db in
            var plans: [QueryPlan] = []
            for statement in sent {
                let sql = db.serialize(statement).sql
                switch backend {
                case .sqlite:
                    let rows = try await db.raw("EXPLAIN QUERY PLAN \(statement)").all()
                    plans.append(QueryPlan(sql: sql, backend: backend, lines: try rows.map { try $0.column("detail") }))
                case .postgres:
                    let rows = try await db.raw("EXPLAIN \(statement)").all()
                    plans.append(QueryPlan(sql: sql, backend: backend, lines: try rows.map { try $0.column("QUERY PLAN") }))
                }
            }
            return plans
        }
    }
}

/// Passes every statement to `base`, telling the store first.
private struct RecordingDatabase: SQLDatabaseWrapper {
    let base: any SQLDatabase
    let store: StatementRecordingStore

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        store.record(query)
        return base.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        store.record(query)
        try await base.execute(sql: query, onRow)
    }
}

/// How the database will run one statement: SQLite's `EXPLAIN QUERY PLAN` details or
/// PostgreSQL's `EXPLAIN` lines.
struct QueryPlan: CustomStringConvertible {
    var sql: String
    var backend: StoreBackend
    var lines: [String]

    /// The tables that grow with the history (aliases as the store's queries use them).
    static let historyTables: [String: String] = [
        "tasks": "tasks", "t": "tasks", "task_log_chunks": "task_log_chunks", "agents": "agents", "a": "agents",
        "b": "agents",
    ]

    /// The partial indexes of unfinished tasks and live agents (`Migration.hotTables`).
    static let hotIndexes: Set<String> = [
        "tasks_queued", "tasks_active", "tasks_active_agent", "tasks_awaiting_user_token", "agents_live_last_seen",
        "agents_live_name", "agents_live_tags_layout", "agents_live_exclusive_key",
    ]

    /// One read of a table: the table (as named in the plan), the index, and whether it
    /// is bounded by a key (SQLite `SEARCH`, PostgreSQL `Index Cond`).
    struct Access: Equatable {
        var table: String?
        var index: String?
        var searched: Bool
    }

    var accesses: [Access] {
        switch backend {
        case .sqlite: lines.compactMap(Self.sqliteAccess)
        case .postgres: lines.indices.compactMap(postgresAccess)
        }
    }

    /// `SCAN tasks`, `SEARCH t USING COVERING INDEX tasks_active_agent (agent_id=? AND status=?)`.
    private static func sqliteAccess(_ line: String) -> Access? {
        let words = line.split(separator: " ").map(String.init)
        guard let verb = words.first, verb == "SCAN" || verb == "SEARCH", words.count >= 2 else { return nil }
        let index = words.firstIndex(of: "INDEX").flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
        return Access(table: words[1], index: index, searched: verb == "SEARCH")
    }

    /// `Seq Scan on tasks`, `Index Scan Backward using tasks_queued on tasks`, `Bitmap Index Scan on x`,
    /// searched when the node's own lines carry an `Index Cond`.
    private func postgresAccess(_ at: Int) -> Access? {
        let line = lines[at].replacingOccurrences(of: "->", with: "").trimmingCharacters(in: .whitespaces)
        let words = line.split(separator: " ").map(String.init)
        let detail = lines[(at + 1)...].prefix { !$0.contains("->") }
        let searched = detail.contains { $0.contains("Index Cond:") }
        if line.hasPrefix("Seq Scan on ") { return Access(table: words[3], index: nil, searched: false) }
        if line.hasPrefix("Bitmap Index Scan on ") { return Access(table: nil, index: words[4], searched: searched) }
        guard line.hasPrefix("Index Scan") || line.hasPrefix("Index Only Scan"),
            let using = words.firstIndex(of: "using"), using + 3 < words.count
        else { return nil }
        return Access(table: words[using + 3], index: words[using + 1], searched: searched)
    }

    /// Reads that take time in proportion to the history: a table scan, or an index
    /// walked in full, of a growing table — unless the index is a partial one of
    /// unfinished work, or the read is a key lookup.
    var historyReads: [Access] {
        accesses.filter { access in
            if let index = access.index, Self.hotIndexes.contains(index) { return false }
            if let table = access.table, Self.historyTables[table] == nil { return false }
            if access.table == nil, let index = access.index, !index.hasPrefix("tasks") && !index.hasPrefix("agents")
                && !index.hasPrefix("task_log_chunks")
            {
                return false
            }
            return !(access.searched && access.index.map(Self.isKey) == true)
        }
    }

    /// A primary key or unique index: a search finds at most one row per key.
    static func isKey(_ index: String) -> Bool {
        index.hasPrefix("sqlite_autoindex_") || index.hasSuffix("_pkey") || index.hasSuffix("_key")
    }

    /// Whether the plan reads through `index`.
    func uses(_ index: String) -> Bool { accesses.contains { $0.index == index } }

    /// Whether the plan sorts rows (instead of reading them in index order).
    var sorts: Bool {
        lines.contains { line in
            switch backend {
            case .sqlite: line.contains("USE TEMP B-TREE")
            case .postgres: line.contains("Sort")
            }
        }
    }

    var description: String { "\(sql)\n  " + lines.joined(separator: "\n  ") }
}
