import SQLKit

/// Copies a hub's data from its SQLite database into an empty PostgreSQL database:
/// what `outpost server migrate-store` does.
///
/// Every table of `StoreTable.all` is copied with every column its catalog lists,
/// in one destination transaction: the destination gets everything or stays
/// empty. The source is read in one snapshot and never written. Values keep their
/// stored form exactly (integers, doubles bit for bit, text, bytes, NULL), so the
/// hub reads the same records, tokens and logs back. Only table names and counts
/// are reported: no row's values reach a log line, an error or the caller.
package enum StoreCopier {
    /// A table that was copied, and how many rows.
    package struct CopiedTable: Sendable, Equatable {
        package var name: String
        package var rows: Int
    }

    /// What a copy did.
    package struct Report: Sendable, Equatable {
        /// The schema version both databases have.
        package var schemaVersion: Int
        /// In the order they were copied.
        package var tables: [CopiedTable]

        package var rows: Int { tables.reduce(0) { $0 + $1.rows } }
    }

    /// Migrates `destination` to this build's schema and copies everything from `source` into it.
    ///
    /// - Parameter progress: called after each table (inside the transaction: the rows
    ///   are visible to others only once `copy` returns).
    /// - Throws: `.conflict`, before anything is written, when `source` is not a hub
    ///   database of this build's schema version, or `destination` already holds rows
    ///   of the hub's tables or a newer schema (it is left untouched); `.database` when
    ///   a statement fails or a value does not fit its column (the destination is rolled
    ///   back: migrated, empty).
    package static func copy(
        from source: SQLiteHubStore, to destination: PostgresHubStore, progress: (CopiedTable) -> Void = { _ in }
    ) async throws(StoreError) -> Report {
        try await checkSource(source)
        // Before migrating, so that a destination that is refused is also left as it was.
        try await destination.read("checking the destination") { db in
            let target = CopyEndpoint(db: db, dialect: destination.dialect)
            try await refuseNewerSchema(target)
            try await refuseNonEmpty(target)
        }
        try await destination.migrate()
        let tables = try await destination.write("copying into the destination") { db -> [CopiedTable] in
            let target = CopyEndpoint(db: db, dialect: destination.dialect)
            if let lock = destination.dialect.lockTables {
                try await target.run("locking the tables") { db in
                    try await db.raw(SQLQueryString(lock(StoreTable.all.map(\.name)))).run()
                }
            }
            // Again under the lock: a hub started on the destination meanwhile may have written.
            try await refuseNonEmpty(target)
            return try await source.read("reading the source") { db in
                let from = CopyEndpoint(db: db, dialect: source.dialect)
                var copied: [CopiedTable] = []
                for table in StoreTable.all {
                    let rows = try await TableCopy(table: table, source: from, destination: target).run()
                    copied.append(CopiedTable(name: table.name, rows: rows))
                    progress(copied[copied.count - 1])
                }
                return copied
            }
        }
        return Report(schemaVersion: currentVersion, tables: tables)
    }

    static var currentVersion: Int { Migration.all.map(\.version).max() ?? 0 }

    /// The source must hold the hub's schema at exactly this build's version, and no
    /// table the copy would leave behind.
    private static func checkSource(_ source: SQLiteHubStore) async throws(StoreError) {
        try await source.read("reading the source's schema") { db in
            let from = CopyEndpoint(db: db, dialect: source.dialect)
            let tables = try await from.tables()
            guard tables.contains(StoreTable.migrations) else {
                throw StoreError(
                    .conflict,
                    "the SQLite database holds no Outpost schema (no \(StoreTable.migrations) table): "
                        + "is it the hub's outpost.sqlite?")
            }
            let applied = try await from.run("reading the schema version") { db in
                Set(try await db.raw("SELECT version FROM \(ident: StoreTable.migrations)").all().map { row in
                    try row.column("version", as: Int.self)
                })
            }
            let version = applied.max() ?? 0
            if version > currentVersion {
                throw StoreError(
                    .conflict,
                    "the SQLite database has schema version \(version), newer than this Outpost knows (\(currentVersion)): "
                        + "copy it with the Outpost version that wrote it")
            }
            if applied != Set(Migration.all.map(\.version)) {
                throw StoreError(
                    .conflict,
                    "the SQLite database has schema version \(version), older than this Outpost's \(currentVersion): "
                        + "start this Outpost's hub on it once (`outpost server --data-dir DIR` upgrades it at start-up), "
                        + "stop it, then copy again")
            }
            let known = Set(StoreTable.all.map(\.name) + [StoreTable.migrations])
            if let unknown = tables.subtracting(known).sorted().first {
                throw StoreError(.conflict, "the SQLite database has a table \(unknown) that this Outpost does not copy")
            }
            if let missing = known.subtracting(tables).sorted().first {
                throw StoreError(.conflict, "the SQLite database lacks the table \(missing) of schema version \(version)")
            }
        }
    }

    /// A destination a newer Outpost migrated would refuse this build's migrations anyway: say so as a refusal.
    private static func refuseNewerSchema(_ destination: CopyEndpoint) async throws(StoreError) {
        guard try await destination.tables().contains(StoreTable.migrations) else { return }
        let version = try await destination.run("reading the destination's schema version") { db in
            try await db.raw("SELECT MAX(version) AS version FROM \(ident: StoreTable.migrations)").first()?
                .optionalColumn("version", as: Int.self)
        }
        if let version, version > currentVersion {
            throw StoreError(
                .conflict,
                "the destination has schema version \(version), newer than this Outpost knows (\(currentVersion)): "
                    + "copy with the Outpost version that wrote it")
        }
    }

    /// Refuses when any of the hub's tables that exist in `destination` has rows,
    /// naming each such table and its count.
    private static func refuseNonEmpty(_ destination: CopyEndpoint) async throws(StoreError) {
        let present = try await destination.tables()
        var filled: [String] = []
        for table in StoreTable.all where present.contains(table.name) {
            let rows = try await destination.rowCount(of: table.name)
            if rows > 0 { filled.append("\(table.name) (\(rows) \(rows == 1 ? "row" : "rows"))") }
        }
        guard filled.isEmpty else {
            throw StoreError(
                .conflict,
                "the destination already holds hub data: \(filled.joined(separator: ", ")); "
                    + "copy into an empty database (or schema), or drop the hub's tables there first")
        }
    }
}
