import Foundation
import OutpostCore
import SQLKit

/// Creating, reading, claiming and starting tasks.
extension SQLHubStore {
    /// - Throws: `.conflict` when the id is taken.
    package func insertTask(
        _ task: TaskRecord, assignment: TaskAssignment, route: TaskRoute, sealedUserToken: String?
    ) async throws(StoreError) {
        // The user token lives in the hub's memory only; never in the database.
        var stored = assignment
        stored.userToken = nil
        let assignmentJSON = try StoreJSON.encode(stored, column: "assignment")
        let agentTypes = try StoreJSON.encode(route.agentTypes, column: "agent_types")
        try await write("creating task \(task.id)") { db in
            do {
                try await db.raw(
                    """
                    INSERT INTO tasks (id, target, status, tags, assignment, agent_name, exit_code, error, created_at,
                        started_at, finished_at, timeout_seconds, log_bytes, log_truncated, cancel_requested, created_by,
                        user_token_required, agent_types, sealed_user_token, signed)
                    VALUES (\(bind: task.id), \(bind: task.target), \(bind: task.status.rawValue), \(bind: route.tags.description),
                        \(bind: assignmentJSON), \(bind: task.agent), \(bind: task.exitCode.map(Int.init)), \(bind: task.error),
                        \(bind: task.createdAt.unixSeconds), \(bind: task.startedAt?.unixSeconds),
                        \(bind: task.finishedAt?.unixSeconds), \(bind: task.timeoutSeconds), \(bind: task.logBytes),
                        \(bind: task.logTruncated.storedFlag), \(bind: task.cancelRequested.storedFlag), \(bind: task.createdBy),
                        \(bind: task.userTokenRequired.storedFlag), \(bind: agentTypes), \(bind: sealedUserToken),
                        \(bind: (assignment.signature != nil).storedFlag))
                    """
                ).run()
            } catch where dialect.constraint(error) == .unique {
                throw StoreError(.conflict, "task \(task.id) already exists")
            }
        }
    }

    package func task(id: String) async throws(StoreError) -> TaskRecord? {
        try await read("reading task \(id)") { db in
            try await Self.loadTask(db, id: id)?.record
        }
    }

    /// Reads only the queued tasks' index, whatever the history.
    package func queuedTasks() async throws(StoreError) -> [QueuedTask] {
        try await read("loading queued tasks") { db in
            try await db.raw(
                """
                SELECT id, tags, agent_types, created_at FROM tasks
                WHERE \(unsafeRaw: StoredConditions.queued) ORDER BY created_at, id
                """
            ).all().map { row throws(StoreError) in
                QueuedTask(id: try row.column("id"), route: try row.taskRoute(), createdAt: try row.date("created_at"))
            }
        }
    }

    package func queuedTasks(ids: [String]) async throws(StoreError) -> [QueuedTask] {
        guard !ids.isEmpty else { return [] }
        return try await read("loading \(ids.count) queued tasks") { db in
            try await db.raw(
                """
                SELECT id, tags, agent_types, created_at FROM tasks
                WHERE status = 'queued' AND id IN (\(SQLList(ids.map { SQLBind($0) })))
                ORDER BY created_at, id
                """
            ).all().map { row throws(StoreError) in
                QueuedTask(id: try row.column("id"), route: try row.taskRoute(), createdAt: try row.date("created_at"))
            }
        }
    }

    package func sealedUserToken(taskID: String) async throws(StoreError) -> String? {
        try await read("reading the sealed user token of task \(taskID)") { db in
            try await db.raw("SELECT sealed_user_token FROM tasks WHERE id = \(bind: taskID)").first()
                .flatMap { row throws(StoreError) in try row.optionalColumn("sealed_user_token", as: String.self) }
        }
    }

    package func pendingAssignment(taskID: String, agentID: String) async throws(StoreError) -> TaskAssignment? {
        try await read("reading the assignment of task \(taskID)") { db in
            try await db.raw(
                """
                SELECT assignment FROM tasks
                WHERE id = \(bind: taskID) AND agent_id = \(bind: agentID) AND status = 'assigned'
                """
            ).first().map { row throws(StoreError) in try row.json("assignment", as: TaskAssignment.self) }
        }
    }

    /// Oldest first. Reads only the unfinished tasks' index, whatever the history.
    package func activeTasks() async throws(StoreError) -> [ActiveTask] {
        try await read("loading active tasks") { db in
            try await db.raw(
                """
                SELECT id, agent_id, status, cancel_requested FROM tasks
                WHERE \(unsafeRaw: StoredConditions.active) ORDER BY created_at, id
                """
            ).all().map { row throws(StoreError) in
                ActiveTask(
                    id: try row.column("id"), agentID: try row.optionalColumn("agent_id") ?? "",
                    status: try row.taskStatus(), cancelRequested: try row.flag("cancel_requested"))
            }
        }
    }

    /// - Throws: `.notFound` for an unknown task id.
    package func claimTask(id: String, agentID: String, agentName: String, at: Date) async throws(StoreError)
        -> TaskAssignment?
    {
        try await write("claiming task \(id)") { db in
            guard
                let row = try await db.raw(
                    """
                    SELECT status, cancel_requested, assignment, tags, agent_types,
                        (SELECT type FROM agents WHERE id = \(bind: agentID)) AS agent_type,
                        (SELECT tags FROM agents WHERE id = \(bind: agentID)) AS agent_tags
                    FROM tasks WHERE id = \(bind: id)\(unsafeRaw: dialect.claimLockSuffix)
                    """
                ).first()
            else {
                // Skipped because another replica's claim holds the row: that claim decides.
                if try await db.raw("SELECT id FROM tasks WHERE id = \(bind: id)").first() != nil { return nil }
                throw StoreError(.notFound, "task \(id) does not exist")
            }
            var machine = TaskStateMachine(status: try row.taskStatus(), cancelRequested: try row.flag("cancel_requested"))
            guard case .transition(let next) = machine.apply(.assign) else { return nil }
            // The dispatcher only offers tasks the agent may run; this check makes the
            // store refuse a wrong claim whatever the caller did.
            guard let agentType = try row.optionalColumn("agent_type", as: String.self) else {
                throw StoreError(.notFound, "agent \(agentID) does not exist")
            }
            let agentTags: TagSet =
                try row.column("agent_tags", as: String.self) == "[]" ? .empty : try row.json("agent_tags")
            let offer = AgentRoute(type: agentType, tags: agentTags)
            let route = try row.taskRoute()
            guard Routing.agent(offer, mayRun: route) else {
                throw StoreError(.forbidden, "agent \(agentName) (type \(offer.type)) may not run task \(id) (\(route))")
            }
            let claimed: (any SQLRow)?
            do {
                // The status guard makes the claim atomic even where rows are not locked:
                // of two racing claimers only one finds the task still queued.
                claimed = try await db.raw(
                    """
                    UPDATE tasks SET status = \(bind: next.rawValue), agent_id = \(bind: agentID),
                        agent_name = \(bind: agentName), assigned_at = \(bind: at.unixSeconds)
                    WHERE id = \(bind: id) AND status = 'queued'
                    RETURNING id
                    """
                ).first()
            } catch where dialect.constraint(error) == .foreignKey {
                throw StoreError(.notFound, "agent \(agentID) does not exist")
            }
            guard claimed != nil else { return nil }
            return try row.json("assignment", as: TaskAssignment.self)
        }
    }

    /// - Throws: `.notFound`, `.forbidden` (not this agent's task), `.conflict` (queued or terminal).
    package func startTask(id: String, agentID: String, submitter: VerifiedSubmitter, at: Date) async throws(StoreError)
        -> TaskRecord
    {
        try await write("starting task \(id)") { db in
            let task = try await Self.loadReportingTask(db, id: id, agentID: agentID, lock: dialect.lockRowsSuffix)
            var machine = task.machine
            switch machine.apply(.start) {
            case .transition(let next):
                return try await Self.updateTaskOrFail(
                    db, id: id, from: task.record.status,
                    set: """
                        status = \(bind: next.rawValue), started_at = \(bind: at.unixSeconds),
                        user_subject = COALESCE(\(bind: submitter.userSubject), user_subject),
                        signed_by = COALESCE(\(bind: submitter.signedBy), signed_by),
                        signature_warning = COALESCE(\(bind: submitter.signatureWarning), signature_warning)
                        """)
            case .none, .signalAgentToCancel, .recordLateResult:
                return task.record
            case .refuse(let reason):
                throw StoreError(.conflict, "task \(id): \(reason)")
            }
        }
    }
}

// MARK: - Shared pieces of the task operations

extension SQLRow {
    /// A task row's `tags` (comma-separated key) and `agent_types` (JSON array).
    func taskRoute() throws(StoreError) -> TaskRoute {
        let tags = TagSet(commaSeparated: try column("tags"))
        // Nearly every task is unpinned: skip the JSON decoder on the claim path for those.
        if try column("agent_types", as: String.self) == "[]" { return TaskRoute(tags: tags) }
        return TaskRoute(tags: tags, agentTypes: try json("agent_types"))
    }
}

extension SQLHubStore {
    static func loadTask(_ db: any SQLDatabase, id: String, lock: String = "") async throws -> StoredTask? {
        try await db.raw("SELECT \(unsafeRaw: StoredColumns.task) FROM tasks WHERE id = \(bind: id)\(unsafeRaw: lock)")
            .first()?.storedTask()
    }

    /// Loads a task an agent acts on.
    /// - Throws: `.notFound`; `.forbidden` when it is not assigned to `agentID`.
    static func loadOwnedTask(_ db: any SQLDatabase, id: String, agentID: String, lock: String) async throws -> StoredTask {
        guard let task = try await loadTask(db, id: id, lock: lock) else {
            throw StoreError(.notFound, "task \(id) does not exist")
        }
        guard task.agentID == agentID else {
            throw StoreError(.forbidden, "task \(id) is not assigned to this agent")
        }
        return task
    }

    /// Applies `set` only if the task is still in `from`, the status it was read in.
    /// Returns the updated task, or `nil` when a concurrent writer moved it first.
    /// Every change through here (start, cancel request, any end) also deletes the
    /// task's sealed user token: only a claimed task not yet started still needs it.
    static func updateTask(_ db: any SQLDatabase, id: String, from: TaskStatus, set: SQLQueryString) async throws
        -> TaskRecord?
    {
        try await db.raw(
            """
            UPDATE tasks SET \(set), sealed_user_token = NULL WHERE id = \(bind: id) AND status = \(bind: from.rawValue)
            RETURNING \(unsafeRaw: StoredColumns.task)
            """
        ).first()?.taskRecord()
    }

    /// `updateTask`, where losing the race is an error the caller may retry.
    static func updateTaskOrFail(_ db: any SQLDatabase, id: String, from: TaskStatus, set: SQLQueryString) async throws
        -> TaskRecord
    {
        guard let updated = try await updateTask(db, id: id, from: from, set: set) else {
            throw StoreError(.conflict, "task \(id) changed while it was being updated; retry")
        }
        return updated
    }
}

extension SQLHubStore {
    /// The task's stored assignment JSON as it sits in the database, for checks that
    /// nothing secret (a user token) was written.
    package func rawAssignment(taskID: String) async throws(StoreError) -> String {
        try await read("reading the stored assignment of task \(taskID)") { db in
            try await db.raw("SELECT assignment FROM tasks WHERE id = \(bind: taskID)").first()?
                .column("assignment", as: String.self) ?? ""
        }
    }
}
