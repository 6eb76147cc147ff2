import Foundation
import Logging
import SQLKit

extension SQLHubStore {
    /// Applies every migration newer than the database's version, in order, in one
    /// transaction: either all of them land or none. Re-running is a no-op.
    /// - Throws: `.database` when the database was written by a newer Outpost
    ///   (it has a version this build does not know) or a statement fails.
    package func migrate() async throws(StoreError) {
        try await migrate(to: Migration.all)
    }

    /// `migrate()` with an explicit list, so tests can add a step.
    func migrate(to migrations: [Migration]) async throws(StoreError) {
        let dialect = self.dialect
        let done = try await write("migrating the schema") { db -> [Migration] in
            if let lock = dialect.migrationLock { try await db.raw(SQLQueryString(lock)).run() }
            try await db.raw(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version \(unsafeRaw: dialect.integerType) PRIMARY KEY,
                    applied_at \(unsafeRaw: dialect.realType) NOT NULL
                )
                """
            ).run()
            let applied = Set(
                try await db.raw("SELECT version FROM schema_migrations").all().map { row in
                    try row.column("version", as: Int.self)
                })
            let known = Set(migrations.map(\.version))
            if let unknown = applied.subtracting(known).max() {
                throw StoreError(
                    .database,
                    "the database has schema version \(unknown), newer than this Outpost knows "
                        + "(\(known.max() ?? 0)); run a newer Outpost against it"
                )
            }
            let pending = migrations.sorted { $0.version < $1.version }.filter { !applied.contains($0.version) }
            for migration in pending {
                for statement in migration.statements(dialect) {
                    try await db.raw(SQLQueryString(statement)).run()
                }
                try await db.raw(
                    """
                    INSERT INTO schema_migrations (version, applied_at)
                    VALUES (\(bind: migration.version), \(bind: Date().timeIntervalSince1970))
                    """
                ).run()
            }
            return pending
        }
        for migration in done {
            logger.info("applied schema migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }

    /// The versions recorded in `schema_migrations`, ascending.
    func appliedMigrations() async throws(StoreError) -> [Int] {
        try await read("reading the schema version") { db in
            try await db.raw("SELECT version FROM schema_migrations ORDER BY version").all().map { row in
                try row.column("version", as: Int.self)
            }
        }
    }
}
