import SQLiteKit

/// Everything that differs between the SQL databases the store runs on, in one place.
///
/// The store's queries are written once, in SQL that SQLite and PostgreSQL both
/// accept (`RETURNING`, `COALESCE`, partial indexes, `\(bind:)` placeholders that
/// SQLKit spells `?` or `$n`). What cannot be shared — column type names,
/// transaction openers, row locks, and how a driver reports a constraint
/// violation — lives here, so the PostgreSQL store adds one more value of this
/// type rather than another copy of the queries.
struct StoreDialect: Sendable {
    /// What a constraint violation was about, as far as the store cares.
    enum Constraint: Sendable, Equatable {
        case unique
        case foreignKey
        case other
    }

    /// Human name for error messages ("SQLite").
    var name: String
    /// Column type of 64-bit integers (counts, offsets, flags stored as 0/1).
    var integerType: String
    /// Column type of timestamps: unix seconds as a double.
    var realType: String
    /// Column type of raw bytes (log chunks).
    var blobType: String
    /// Opens a transaction that will write; takes the write lock up front so two
    /// writers never deadlock upgrading a read lock.
    var beginWrite: String
    /// Opens a read-only transaction (one consistent snapshot for multi-statement reads).
    var beginRead: String
    /// Appended to a `SELECT` whose row a transaction will update next (`FOR UPDATE`
    /// on PostgreSQL); empty where the transaction already holds the write lock.
    var lockRowsSuffix: String
    /// Appended to the `SELECT` that locks the task a claim will take: on PostgreSQL
    /// `FOR UPDATE SKIP LOCKED`, so a replica never waits behind another replica's
    /// claim of the same task (it sees the task as taken and moves on).
    var claimLockSuffix: String
    /// Run first inside the migration transaction so concurrent hub replicas
    /// migrate one after the other; `nil` where the write transaction already excludes them.
    var migrationLock: String?
    /// Lists the tables of the schema the connection works in, one row each, in column `name`.
    var tablesQuery: String
    /// Lists a table's columns in their order, with `name` and the declared `type`.
    var columnsQuery: @Sendable (_ table: String) -> SQLQueryString
    /// Keeps every other writer out of the tables until the transaction ends (a copy
    /// checks they are empty, then fills them); `nil` where the write transaction already does.
    var lockTables: (@Sendable (_ tables: [String]) -> String)?
    /// Refreshes the planner's statistics after a bulk load, on a database that keeps
    /// them up to date by itself in production (PostgreSQL's autovacuum); `nil` where
    /// the hub never gathers any (SQLite plans from the schema alone).
    var refreshStatistics: String?
    /// Classifies a driver error as a constraint violation, or `nil` for any other error.
    var constraint: @Sendable (any Error) -> Constraint?
    /// The driver's own message for an error, without bound values.
    var describe: @Sendable (any Error) -> String
}

extension StoreDialect {
    /// SQLite through `SQLiteDirectConnection`: one connection, `BEGIN IMMEDIATE` for writers.
    static let sqlite = StoreDialect(
        name: "SQLite",
        integerType: "INTEGER",
        realType: "REAL",
        blobType: "BLOB",
        beginWrite: "BEGIN IMMEDIATE",
        beginRead: "BEGIN",
        lockRowsSuffix: "",
        claimLockSuffix: "",
        migrationLock: nil,
        tablesQuery: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        columnsQuery: { table in "SELECT name, type FROM pragma_table_info(\(bind: table)) ORDER BY cid" },
        lockTables: nil,
        refreshStatistics: nil,
        constraint: { error in (error as? SQLiteFailure)?.constraint },
        describe: { error in
            // sqlite3_errmsg names tables and columns, never bound values.
            if let error = error as? SQLiteFailure { return error.message }
            return String(describing: type(of: error))
        }
    )

    /// What a column declared with `type` holds, from the type names the migrations use; `nil` for any other.
    func columnKind(declaredType type: String) -> StoredColumn.Kind? {
        switch type.uppercased() {
        case integerType: .integer
        case realType: .real
        case blobType: .blob
        case "TEXT": .text
        default: nil
        }
    }

    /// Turns any error thrown inside an operation into the store's error type.
    ///
    /// Store errors pass through unchanged; a constraint violation nobody
    /// anticipated becomes `.conflict`; everything else is `.database` with the
    /// driver's message (which never contains bound values).
    func storeError(_ error: any Error, while operation: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if constraint(error) != nil {
            return StoreError(.conflict, "\(operation) conflicts with stored data: \(describe(error))")
        }
        return StoreError(.database, "\(name) error while \(operation): \(describe(error))")
    }
}
