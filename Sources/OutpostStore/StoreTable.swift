/// A table of the hub's schema, as code that walks every table sees it (`StoreCopier`).
///
/// The columns are not listed: they come from the database's own catalog, so a
/// migration that adds a column needs no change here. A migration that adds a
/// *table* adds it to `all`; `StoreCopier` refuses a database with a table it does
/// not know, and a store test compares `all` with the migrated schema.
struct StoreTable: Sendable, Equatable {
    var name: String
    /// The primary key's columns, in index order: rows are read in pages ordered by it.
    var key: [String]

    /// Every table but `schema_migrations` (each database's own `migrate()` writes that),
    /// parents before the tables whose foreign keys point at them.
    static let all: [StoreTable] = [
        StoreTable(name: "api_tokens", key: ["id"]),
        StoreTable(name: "console_sessions", key: ["id_hash"]),  // → api_tokens
        StoreTable(name: "agent_types", key: ["name"]),
        StoreTable(name: "targets", key: ["name"]),
        StoreTable(name: "agents", key: ["id"]),  // → agent_types
        StoreTable(name: "tasks", key: ["id"]),  // → agents
        StoreTable(name: "task_log_chunks", key: ["task_id", "byte_offset"]),  // → tasks
        // Requests relayed between replicas: empty once the hub is stopped, copied for completeness.
        StoreTable(name: "relay_requests", key: ["id"]),
    ]

    /// Where `migrate()` records the versions it applied.
    static let migrations = "schema_migrations"
}
