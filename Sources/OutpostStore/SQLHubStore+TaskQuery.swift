import Foundation
import OutpostCore
import SQLKit

/// The task list: newest first, filtered, one page at a time.
extension SQLHubStore {
    /// Newest first (ties by id, descending); `limit` below 1 returns nothing. Walks one
    /// index backwards and stops after `limit` rows, however long the history.
    package func listTasks(status: TaskStatus?, limit: Int) async throws(StoreError) -> [TaskRecord] {
        try await listTasks(TaskQuery(status: status, limit: limit)).items
    }

    /// Reads one row more than the page holds to know whether another page follows.
    package func listTasks(_ query: TaskQuery) async throws(StoreError) -> TaskPage {
        let limit = max(0, query.limit)
        guard limit > 0 else { return TaskPage(items: [], next: nil) }
        let conditions = Self.listingConditions(query)
        let filter: SQLQueryString = conditions.isEmpty ? "" : "WHERE \(conditions.joined(separator: " AND "))"
        let rows = try await read("listing tasks") { db in
            try await db.raw(
                """
                SELECT \(unsafeRaw: StoredColumns.task) FROM tasks \(filter)
                ORDER BY created_at DESC, id DESC LIMIT \(bind: limit + 1)
                """
            ).all().map { row throws(StoreError) in try row.taskRecord() }
        }
        guard rows.count > limit else { return TaskPage(items: rows, next: nil) }
        let items = Array(rows.prefix(limit))
        return TaskPage(items: items, next: items.last.map(TaskCursor.init(after:)))
    }

    package func taskAssignment(id: String) async throws(StoreError) -> TaskAssignment? {
        try await read("reading the assignment of task \(id)") { db in
            guard
                var assignment = try await db.raw("SELECT assignment FROM tasks WHERE id = \(bind: id)").first()
                    .map({ row throws(StoreError) in try row.json("assignment", as: TaskAssignment.self) })
            else { return nil }
            // Never stored (insertTask drops it); cleared again so no caller can ever show one.
            assignment.userToken = nil
            return assignment
        }
    }
}

extension SQLHubStore {
    /// The conditions of a listing, every value bound, spelled so that it walks one
    /// index in `created_at, id` order:
    /// - a column filter (target, agent, submitter, user) reads that column's index
    ///   (`Migration.console`). Its status, if any, is a bound value that no partial
    ///   index matches, so SQLite, which prefers any index it can search by equality,
    ///   cannot take the status's index instead and filter a whole status by target;
    /// - a status alone reads the partial index holding that status (`listingCondition`);
    /// - nothing but times and a cursor walks `tasks_created_id`.
    /// The cursor is a row-value comparison, which both databases turn into an index range.
    static func listingConditions(_ query: TaskQuery) -> [SQLQueryString] {
        var conditions: [SQLQueryString] = []
        if let target = query.target { conditions.append("target = \(bind: target)") }
        if let agent = query.agent { conditions.append("agent_name = \(bind: agent)") }
        if let createdBy = query.createdBy { conditions.append("created_by = \(bind: createdBy)") }
        if let userSubject = query.userSubject { conditions.append("user_subject = \(bind: userSubject)") }
        if let status = query.status {
            conditions.append(
                conditions.isEmpty ? listingCondition(status) : "status = \(bind: status.rawValue)")
        }
        if let from = query.createdFrom { conditions.append("created_at >= \(bind: from.unixSeconds)") }
        if let before = query.createdBefore { conditions.append("created_at < \(bind: before.unixSeconds)") }
        if let after = query.after {
            conditions.append("(created_at, id) < (\(bind: after.storedCreatedAt), \(bind: after.id))")
        }
        return conditions
    }

    /// The condition of a listing of one status, spelled so that it walks the partial
    /// index holding that status (`StoredConditions`) rather than the whole history.
    static func listingCondition(_ status: TaskStatus) -> SQLQueryString {
        switch status {
        case .queued:
            "\(unsafeRaw: StoredConditions.queued)"
        case .assigned, .running:
            "\(unsafeRaw: StoredConditions.active) AND status = \(bind: status.rawValue)"
        case .succeeded, .failed, .cancelled, .timedOut, .lost, .rejected:
            "\(unsafeRaw: StoredConditions.finished) AND status = \(bind: status.rawValue)"
        }
    }
}
