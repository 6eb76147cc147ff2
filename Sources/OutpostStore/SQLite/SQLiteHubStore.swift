package import Logging
import SQLKit

/// The embedded store: one SQLite file in the hub's data directory.
///
/// Uses one connection (SQLite serialises writers anyway) in WAL mode with
/// `synchronous=NORMAL` (durable across process crashes; a power loss may drop
/// the last commits), foreign keys on and a busy timeout, so another process
/// briefly holding the file (a backup, the CLI) delays rather than fails calls.
/// Operations run one after another in arrival order; writes that queue up behind
/// a busy connection commit together (see `ConnectionGate`).
///
/// The queries themselves live in the `SQLHubStore` extensions and are shared
/// with the PostgreSQL store; this type only owns the connection.
package final class SQLiteHubStore: SQLHubStore {
    let dialect = StoreDialect.sqlite
    let logger: Logger
    private let gate: ConnectionGate

    /// How long a statement waits for another process's lock on the file before failing.
    static let busyTimeoutMilliseconds = 5_000

    private init(connection: SQLiteDirectConnection, logger: Logger) {
        self.gate = ConnectionGate(connection: connection)
        self.logger = logger
    }

    /// Opens (creating if needed) the database file at `path`. Its directory must
    /// exist. Call `migrate()` before anything else, and `shutdown()` at the end.
    /// - Throws: `.database` when the file cannot be opened or configured.
    package static func open(path: String, logger: Logger) async throws(StoreError) -> SQLiteHubStore {
        try await connect(path: path, description: "SQLite database at \(path)", logger: logger)
    }

    /// Opens the database file at `path`, which must exist, without changing its
    /// journal mode: for reading a hub's database from elsewhere (`StoreCopier`),
    /// where a mistyped path must not quietly become a new, empty database.
    /// - Throws: `.database` when there is no such file or it is not an SQLite database.
    package static func openExisting(path: String, logger: Logger) async throws(StoreError) -> SQLiteHubStore {
        try await connect(path: path, description: "SQLite database at \(path)", create: false, logger: logger)
    }

    /// A private database in memory, gone at `shutdown()`: for tests.
    package static func inMemory(logger: Logger) async throws(StoreError) -> SQLiteHubStore {
        try await connect(path: ":memory:", description: "in-memory SQLite database", logger: logger)
    }

    private static func connect(
        path: String, description: String, create: Bool = true, logger: Logger
    ) async throws(StoreError) -> SQLiteHubStore {
        let connection: SQLiteDirectConnection
        do {
            connection = try SQLiteDirectConnection.open(path: path, create: create)
        } catch {
            throw StoreError(.database, "cannot open \(description): \(error.message)")
        }
        do {
            let db = SQLiteDirectDatabase(connection: connection, logger: logger)
            // WAL lets readers of other processes (backups, inspection) run beside the
            // hub; an in-memory database answers "memory" and that is fine. A file opened
            // only to be read keeps its mode: switching it would write to it.
            if create {
                let mode = try await db.raw("PRAGMA journal_mode = WAL").first()?.decode(column: "journal_mode", as: String.self)
                if path != ":memory:", mode?.lowercased() != "wal" {
                    logger.warning("SQLite refused WAL journal mode", metadata: ["mode": "\(mode ?? "none")"])
                }
            } else {
                // Reads the header now: a file that is not a database fails here, naming the file.
                try await db.raw("SELECT COUNT(*) AS n FROM sqlite_master").run()
            }
            try await db.raw("PRAGMA synchronous = NORMAL").run()
            try await db.raw("PRAGMA foreign_keys = ON").run()
            try await db.raw("PRAGMA busy_timeout = \(unsafeRaw: String(busyTimeoutMilliseconds))").run()
        } catch {
            connection.close()
            throw StoreError(.database, "cannot configure \(description): \(StoreDialect.sqlite.describe(error))")
        }
        return SQLiteHubStore(connection: connection, logger: logger)
    }

    /// Waits for running operations, then closes the connection. Later calls fail with `.database`.
    package func shutdown() async {
        await gate.close()
    }

    /// Runs `body` in a write transaction, possibly together with other writes that
    /// queued meanwhile (group commit, see `ConnectionGate`); returns once committed.
    func write<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        let result = WriteResult<T>()
        // `body` runs before this call returns (here, or in another writer's group
        // while this one waits), never after: it does not really escape.
        try await withoutActuallyEscaping(body) { body async throws(StoreError) in
            try await runGrouped(GroupedWrite(operation: operation) { db in result.value = try await body(db) })
        }
        guard let value = result.value else { throw StoreError(.database, "\(operation): the write produced no result") }
        return value
    }

    /// Queues `write`; leads its group when its turn comes, else waits for the leader.
    private func runGrouped(_ write: GroupedWrite) async throws(StoreError) {
        if let connection = try await gate.acquire(for: write) {
            let group = [write] + (await gate.takeQueuedWrites())
            if await commit(group, on: connection) { await gate.committed(writes: group.count) }
            await gate.release()
            for other in group.dropFirst() { other.resume(.done) }
        }
        if let failure = write.failure { throw failure }
    }

    /// Runs `group` in one transaction, each write in a savepoint when there are
    /// several, and commits; sets `failure` on each write that did not take effect.
    /// Returns whether the transaction committed.
    private func commit(_ group: [GroupedWrite], on connection: SQLiteDirectConnection) async -> Bool {
        let db = SQLiteDirectDatabase(connection: connection, logger: logger)
        defer { for write in group { write.discard() } }
        func failAll(_ error: any Error) -> Bool {
            for write in group where write.failure == nil { write.failure = dialect.storeError(error, while: write.operation) }
            return false
        }
        do {
            try await db.raw(SQLQueryString(dialect.beginWrite)).run()
        } catch {
            return failAll(error)
        }
        let isolated = group.count > 1
        for write in group {
            do {
                if isolated { try await db.raw("SAVEPOINT grouped_write").run() }
                try await write.run(on: db)
                if isolated { try await db.raw("RELEASE grouped_write").run() }
            } catch {
                write.failure = dialect.storeError(error, while: write.operation)
                do {
                    guard isolated else { throw error }
                    try await db.raw("ROLLBACK TO grouped_write").run()
                    try await db.raw("RELEASE grouped_write").run()
                } catch {
                    // A lone write failed, or its savepoint could not be undone: nothing commits.
                    try? await db.raw("ROLLBACK").run()
                    return failAll(error)
                }
            }
        }
        do {
            try await db.raw("COMMIT").run()
            return true
        } catch {
            // A failed COMMIT leaves the transaction open.
            try? await db.raw("ROLLBACK").run()
            return failAll(error)
        }
    }

    /// Writes and the transactions that committed them so far (group commit at work).
    package func writeStatistics() async -> (writes: Int, transactions: Int) {
        let statistics = await gate.statistics
        return (statistics.writes, statistics.transactions)
    }

    /// Writes waiting for the connection now.
    var queuedWrites: Int { get async { await gate.queuedWrites } }

    func read<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        try await transaction(operation, begin: dialect.beginRead, body)
    }

    private func transaction<T>(
        _ operation: String, begin: String, _ body: (any SQLDatabase) async throws -> T
    ) async throws(StoreError) -> T {
        let connection = try await gate.acquire()
        let db = SQLiteDirectDatabase(connection: connection, logger: logger)
        do {
            try await db.raw(SQLQueryString(begin)).run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                await gate.release()
                return result
            } catch {
                // Also after a failed COMMIT, which leaves the transaction open.
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        } catch {
            await gate.release()
            throw dialect.storeError(error, while: operation)
        }
    }
}

/// Where a grouped write leaves its result for its caller.
private final class WriteResult<T>: @unchecked Sendable {
    /// Set by the write's body (on the leader's task) before the caller is resumed.
    var value: T?
}
