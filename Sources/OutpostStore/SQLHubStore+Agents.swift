import Foundation
import OutpostCore
import SQLKit

extension SQLHubStore {
    /// - Throws: `.conflict` when an agent that is not offline holds the name (or the
    ///   token hash or id is taken), `.nameReserved`, `.exclusiveTagsHeld`,
    ///   `.providerLayoutMismatch` (see `HubStore`), `.notFound` when the agent type
    ///   does not exist.
    package func insertAgent(_ agent: AgentRecord, tokenHash: String, exclusiveKey: String?) async throws(StoreError) {
        let dialect = self.dialect
        let tags = try StoreJSON.encode(agent.tags, column: "tags")
        try await write("registering agent \"\(agent.name)\"") { db in
            if agent.status != .offline {
                // Checked first for clear messages; the partial unique indexes are what guarantee
                // the name and the exclusive key.
                try await Self.checkAdmission(db, agent, tags: tags, exclusiveKey: exclusiveKey)
            }
            do {
                try await db.raw(
                    """
                    INSERT INTO agents (id, name, type, tags, status, version, os, concurrency, provider_fingerprint,
                        token_hash, registered_at, last_seen_at, aws_arn, disconnect_after_job, idle_timeout_seconds,
                        exclusive_key, signed_tasks)
                    VALUES (\(bind: agent.id), \(bind: agent.name), \(bind: agent.type), \(bind: tags),
                        \(bind: agent.status.rawValue), \(bind: agent.version), \(bind: agent.os), \(bind: agent.concurrency),
                        \(bind: agent.providerFingerprint), \(bind: tokenHash), \(bind: agent.registeredAt.unixSeconds),
                        \(bind: agent.lastSeenAt.unixSeconds), \(bind: agent.awsARN), \(bind: agent.disconnectAfterJob.storedFlag),
                        \(bind: agent.idleTimeoutSeconds), \(bind: exclusiveKey), \(bind: agent.signedTasks.rawValue))
                    """
                ).run()
            } catch {
                switch dialect.constraint(error) {
                case .unique: throw Self.nameTaken(agent.name)
                case .foreignKey: throw StoreError(.notFound, "agent type \"\(agent.type)\" does not exist")
                case .other, nil: throw error
                }
            }
        }
    }

    private static func checkAdmission(
        _ db: any SQLDatabase, _ agent: AgentRecord, tags: String, exclusiveKey: String?
    ) async throws {
        if try await db.raw("SELECT id FROM agents WHERE name = \(bind: agent.name) AND status <> 'offline'").first()
            != nil
        {
            throw nameTaken(agent.name)
        }
        let reservation = try await db.raw(
            """
            SELECT name_reserved_until, aws_arn FROM agents
            WHERE name = \(bind: agent.name) AND status = 'offline' AND name_reserved_until > \(bind: agent.registeredAt.unixSeconds)
            ORDER BY name_reserved_until DESC LIMIT 1
            """
        ).first()
        if let reservation {
            // Only a proven identity may reclaim its own reserved name.
            let holder = try reservation.optionalColumn("aws_arn", as: String.self)
            if holder == nil || holder != agent.awsARN {
                throw StoreError(
                    .nameReserved(until: try reservation.date("name_reserved_until")),
                    "agent name \"\(agent.name)\" is reserved after its last agent disconnected")
            }
        }
        if let exclusiveKey,
            let holder = try await db.raw(
                "SELECT name FROM agents WHERE exclusive_key = \(bind: exclusiveKey) AND status <> 'offline' LIMIT 1"
            ).first()
        {
            let name = try holder.column("name", as: String.self)
            throw StoreError(.exclusiveTagsHeld(holder: name), "tag set held by agent \"\(name)\"")
        }
        if let other = try await liveAgentWithOtherLayout(db, tags: tags, layout: agent.providerFingerprint) {
            let name = try other.column("name", as: String.self)
            let layout = try other.column("provider_fingerprint", as: String.self)
            throw StoreError(
                .providerLayoutMismatch(holder: name, layout: layout),
                "agent \"\(name)\" with the same tags has another provider layout")
        }
    }

    /// A live agent with these tags but another provider layout. Two range probes of
    /// `agents_live_tags_layout` (below and above `layout`) instead of one `<>` scan,
    /// so a pool of thousands of agents registers in O(log n) each.
    private static func liveAgentWithOtherLayout(_ db: any SQLDatabase, tags: String, layout: String) async throws
        -> (any SQLRow)?
    {
        for comparison in ["<", ">"] {
            let row = try await db.raw(
                """
                SELECT name, provider_fingerprint FROM agents
                WHERE tags = \(bind: tags) AND status <> 'offline'
                    AND provider_fingerprint \(unsafeRaw: comparison) \(bind: layout)
                LIMIT 1
                """
            ).first()
            if let row { return row }
        }
        return nil
    }

    private static func nameTaken(_ name: String) -> StoreError {
        StoreError(.conflict, "agent name \"\(name)\" is in use by another agent that is not offline")
    }

    /// Finds the agent whatever its status, so the hub can tell an offline agent's
    /// token (re-register) from an unknown one.
    package func agent(tokenHash: String) async throws(StoreError) -> AgentRecord? {
        try await read("looking up an agent token") { db in
            try await db.raw(
                "SELECT \(unsafeRaw: StoredColumns.agent) FROM agents a WHERE a.token_hash = \(bind: tokenHash)"
            ).first()?.agentRecord()
        }
    }

    package func agent(id: String) async throws(StoreError) -> AgentRecord? {
        try await read("reading agent \(id)") { db in
            try await db.raw("SELECT \(unsafeRaw: StoredColumns.agent) FROM agents a WHERE a.id = \(bind: id)")
                .first()?.agentRecord()
        }
    }

    /// Ordered by name, then registration time (offline agents may share a name).
    package func listAgents(includeOffline: Bool) async throws(StoreError) -> [AgentRecord] {
        let filter: SQLQueryString = includeOffline ? "" : "WHERE a.status <> 'offline'"
        return try await read("listing agents") { db in
            try await db.raw(
                "SELECT \(unsafeRaw: StoredColumns.agent) FROM agents a \(filter) ORDER BY a.name, a.registered_at, a.id"
            ).all().map { row throws(StoreError) in try row.agentRecord() }
        }
    }

    /// Changes only the status. To take an agent offline with its tasks, use `markAgentOffline`.
    /// - Throws: `.notFound`; `.conflict` when bringing an offline agent back while
    ///   another live agent holds its name.
    package func setAgentStatus(id: String, status: AgentRecord.Status) async throws(StoreError) {
        let dialect = self.dialect
        try await write("setting the status of agent \(id)") { db in
            let row: (any SQLRow)?
            do {
                row = try await db.raw(
                    "UPDATE agents SET status = \(bind: status.rawValue) WHERE id = \(bind: id) RETURNING name"
                ).first()
            } catch where dialect.constraint(error) == .unique {
                throw StoreError(.conflict, "agent \(id) cannot come back: another agent that is not offline holds its name")
            }
            guard row != nil else { throw StoreError(.notFound, "agent \(id) does not exist") }
        }
    }

    /// One transaction: the agent goes offline (its name is free again) and each of its
    /// assigned or running tasks becomes `lost` with `reason` as its error.
    /// Repeating it is harmless: an offline agent holds no such tasks.
    /// - Throws: `.notFound`.
    package func markAgentOffline(id: String, at: Date, reason: String) async throws(StoreError) -> [TaskRecord] {
        try await write("taking agent \(id) offline") { db in
            // The name stays reserved for the type's name_release_seconds (0: free at once).
            let wentOffline =
                try await db.raw(
                    """
                    UPDATE agents SET status = 'offline',
                        name_reserved_until = \(bind: at.unixSeconds) + COALESCE(
                            (SELECT t.name_release_seconds FROM agent_types t WHERE t.name = agents.type), 0)
                    WHERE id = \(bind: id) AND status <> 'offline' RETURNING id
                    """
                ).first() != nil
            if !wentOffline, try await db.raw("SELECT id FROM agents WHERE id = \(bind: id)").first() == nil {
                throw StoreError(.notFound, "agent \(id) does not exist")
            }
            let held = try await db.raw(
                """
                SELECT \(unsafeRaw: StoredColumns.task) FROM tasks
                WHERE agent_id = \(bind: id) AND \(unsafeRaw: StoredConditions.active)
                ORDER BY created_at, id\(unsafeRaw: dialect.lockRowsSuffix)
                """
            ).all()
            var lost: [TaskRecord] = []
            for row in held {
                let task = try row.storedTask()
                var machine = task.machine
                guard case .transition(let next) = machine.apply(.agentLost) else { continue }
                let updated = try await Self.updateTask(
                    db, id: task.record.id, from: task.record.status,
                    set: "status = \(bind: next.rawValue), error = \(bind: reason), finished_at = \(bind: at.unixSeconds)")
                if let updated { lost.append(updated) }
            }
            return lost
        }
    }

    /// A read finds the candidates first, so the usual sweep (nothing to delete)
    /// takes no write lock.
    package func deleteOfflineAgents(lastSeenBefore: Date, now: Date) async throws(StoreError) -> [String] {
        let candidates: SQLQueryString = """
            status = 'offline' AND last_seen_at < \(bind: lastSeenBefore.unixSeconds)
                AND (name_reserved_until IS NULL OR name_reserved_until <= \(bind: now.unixSeconds))
            """
        let found = try await read("finding offline agents to delete") { db in
            try await db.raw("SELECT id FROM agents WHERE \(candidates) LIMIT 1").first() != nil
        }
        guard found else { return [] }
        return try await write("deleting offline agents") { db in
            let rows = try await db.raw("SELECT id, name FROM agents WHERE \(candidates)").all()
            var names: [String] = []
            for row in rows {
                let id = try row.column("id", as: String.self)
                try await db.raw("UPDATE tasks SET agent_id = NULL WHERE agent_id = \(bind: id)").run()
                try await db.raw("DELETE FROM agents WHERE id = \(bind: id) AND status = 'offline'").run()
                names.append(try row.column("name", as: String.self))
            }
            return names
        }
    }
}
