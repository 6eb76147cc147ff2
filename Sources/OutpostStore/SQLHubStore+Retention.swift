import Foundation
import OutpostCore
import SQLKit

/// Retention: finished tasks leave the database after a while, so the history is as
/// long as the operator wants, not as long as the hub has run.
extension SQLHubStore {
    /// Finds the oldest through `tasks_finished`, then deletes them by id: a join of the
    /// two would let PostgreSQL pick a scan of the whole table once a batch is a fair
    /// share of it, while a list of ids always goes through the primary key. The log
    /// chunks go by `ON DELETE CASCADE` (the SQLite store turns foreign keys on), also
    /// those of a late append that raced the delete.
    package func deleteFinishedTasks(finishedBefore cutoff: Date, limit: Int) async throws(StoreError) -> Int {
        guard limit > 0 else { return 0 }
        return try await write("deleting tasks finished before \(cutoff)") { db in
            let ids = try await db.raw(
                """
                SELECT id FROM tasks
                WHERE \(unsafeRaw: StoredConditions.expirable) AND COALESCE(finished_at, created_at) < \(bind: cutoff.unixSeconds)
                ORDER BY COALESCE(finished_at, created_at) LIMIT \(bind: limit)
                """
            ).all().map { row throws(StoreError) in try row.column("id", as: String.self) }
            var deleted = 0
            // A terminal status never changes again: what the select found is still
            // finished now, whatever another replica did in between.
            for start in stride(from: 0, to: ids.count, by: statementListLimit) {
                let list = ids[start..<min(start + statementListLimit, ids.count)].map { SQLQueryString("\(bind: $0)") }
                deleted += try await db.raw(
                    """
                    DELETE FROM tasks WHERE id IN (\(list.paddedList(filler: "NULL", maximum: statementListLimit)))
                    RETURNING id
                    """
                ).all().count
            }
            return deleted
        }
    }
}
