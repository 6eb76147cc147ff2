import OutpostCore
import SQLKit

extension SQLHubStore {
    package func insertTarget(_ target: Target) async throws(StoreError) {
        let dialect = self.dialect
        let tags = try StoreJSON.encode(target.tags, column: "tags")
        let env = try StoreJSON.encode(target.env, column: "env")
        let secrets = try StoreJSON.encode(target.secrets, column: "secrets")
        let agentTypes = try StoreJSON.encode(target.agentTypes, column: "agent_types")
        try await write("creating target \"\(target.name)\"") { db in
            do {
                try await db.raw(
                    """
                    INSERT INTO targets (\(unsafeRaw: StoredColumns.target))
                    VALUES (\(bind: target.name), \(bind: target.integration), \(bind: tags), \(bind: env), \(bind: secrets),
                        \(bind: target.timeoutSeconds), \(bind: target.createdAt.unixSeconds), \(bind: agentTypes))
                    """
                ).run()
            } catch where dialect.constraint(error) == .unique {
                throw StoreError(.conflict, "target \"\(target.name)\" already exists")
            }
        }
    }

    package func target(named name: String) async throws(StoreError) -> Target? {
        try await read("reading target \"\(name)\"") { db in
            try await db.raw("SELECT \(unsafeRaw: StoredColumns.target) FROM targets WHERE name = \(bind: name)")
                .first()?.target()
        }
    }

    /// Ordered by name.
    package func listTargets() async throws(StoreError) -> [Target] {
        try await read("listing targets") { db in
            try await db.raw("SELECT \(unsafeRaw: StoredColumns.target) FROM targets ORDER BY name").all()
                .map { row throws(StoreError) in try row.target() }
        }
    }

    package func updateTarget(_ target: Target) async throws(StoreError) -> Bool {
        let tags = try StoreJSON.encode(target.tags, column: "tags")
        let env = try StoreJSON.encode(target.env, column: "env")
        let secrets = try StoreJSON.encode(target.secrets, column: "secrets")
        let agentTypes = try StoreJSON.encode(target.agentTypes, column: "agent_types")
        return try await write("updating target \"\(target.name)\"") { db in
            try await db.raw(
                """
                UPDATE targets SET integration = \(bind: target.integration), tags = \(bind: tags), env = \(bind: env),
                    secrets = \(bind: secrets), timeout_seconds = \(bind: target.timeoutSeconds),
                    agent_types = \(bind: agentTypes)
                WHERE name = \(bind: target.name) RETURNING name
                """
            ).first() != nil
        }
    }

    package func deleteTarget(named name: String) async throws(StoreError) -> Bool {
        try await write("deleting target \"\(name)\"") { db in
            try await db.raw("DELETE FROM targets WHERE name = \(bind: name) RETURNING name").first() != nil
        }
    }
}
