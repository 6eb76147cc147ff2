import Foundation
import OutpostCore
import SQLKit

/// The ways a task ends: its agent's verdict, a user's cancel, the sweeper's timeout.
extension SQLHubStore {
    /// A finish with status `cancelled` is what the agent sends after a cancel.
    /// - Throws: `.notFound`; `.forbidden` (another agent's task); `.conflict` when the
    ///   task already ended with another status, the status is not one an agent may
    ///   report, or `finish.logBytes` exceeds the stored log (the message starts with
    ///   "log incomplete"; the agent should resend the missing bytes).
    package func finishTask(id: String, agentID: String, finish: FinishRequest, at: Date) async throws(StoreError)
        -> TaskRecord
    {
        try await write("finishing task \(id)") { db in
            let task = try await Self.loadOwnedTask(db, id: id, agentID: agentID, lock: dialect.lockRowsSuffix)
            var machine = task.machine
            switch machine.apply(.finish(finish.status)) {
            case .transition(let next):
                guard finish.logBytes <= task.record.logBytes else {
                    throw StoreError(
                        .conflict,
                        "log incomplete: task \(id) has \(task.record.logBytes) of the \(finish.logBytes) log bytes "
                            + "its agent reports; send the rest before finishing")
                }
                return try await Self.updateTaskOrFail(
                    db, id: id, from: task.record.status,
                    set: """
                        status = \(bind: next.rawValue), exit_code = \(bind: finish.exitCode.map(Int.init)),
                        error = \(bind: finish.error), finished_at = \(bind: at.unixSeconds),
                        user_subject = COALESCE(\(bind: finish.userSubject), user_subject)
                        """)
            case .none, .signalAgentToCancel:
                return task.record
            case .refuse(let reason):
                throw StoreError(.conflict, "task \(id): \(reason)")
            }
        }
    }

    /// - Throws: `.notFound`.
    package func requestCancel(id: String, at: Date) async throws(StoreError) -> TaskRecord {
        try await write("cancelling task \(id)") { db in
            guard let task = try await Self.loadTask(db, id: id, lock: dialect.lockRowsSuffix) else {
                throw StoreError(.notFound, "task \(id) does not exist")
            }
            var machine = task.machine
            switch machine.apply(.cancel) {
            case .transition(let next):
                return try await Self.updateTaskOrFail(
                    db, id: id, from: task.record.status,
                    set: """
                        status = \(bind: next.rawValue), error = \(bind: "cancelled before an agent took it"),
                        finished_at = \(bind: at.unixSeconds)
                        """)
            case .signalAgentToCancel:
                return try await Self.updateTaskOrFail(
                    db, id: id, from: task.record.status, set: "cancel_requested = \(bind: 1)")
            case .none:
                return task.record
            case .refuse(let reason):
                throw StoreError(.conflict, "task \(id): \(reason)")
            }
        }
    }

    /// Deadline: `coalesce(started_at, assigned_at) + timeout_seconds + grace < now`.
    package func timeOutOverdueTasks(now: Date, grace: TimeInterval) async throws(StoreError) -> [TaskRecord] {
        // Moving grace to the right-hand side keeps the bound value a plain timestamp.
        let cutoff = now.unixSeconds - grace
        return try await write("timing out overdue tasks") { db in
            let overdue = try await db.raw(
                """
                SELECT \(unsafeRaw: StoredColumns.task) FROM tasks
                WHERE status IN ('assigned', 'running')
                    AND COALESCE(started_at, assigned_at) + timeout_seconds < \(bind: cutoff)
                ORDER BY created_at, id\(unsafeRaw: dialect.lockRowsSuffix)
                """
            ).all()
            var timedOut: [TaskRecord] = []
            for row in overdue {
                let task = try row.storedTask()
                var machine = task.machine
                guard case .transition(let next) = machine.apply(.deadlinePassed) else { continue }
                let reason = "no result from agent within timeout (\(task.record.timeoutSeconds)s) plus grace"
                let updated = try await Self.updateTask(
                    db, id: task.record.id, from: task.record.status,
                    set: "status = \(bind: next.rawValue), error = \(bind: reason), finished_at = \(bind: now.unixSeconds)")
                if let updated { timedOut.append(updated) }
            }
            return timedOut
        }
    }

    package func rejectTasksAwaitingUserToken(reason: String, at: Date) async throws(StoreError) -> [TaskRecord] {
        try await write("rejecting tasks whose user token was lost") { db in
            let waiting = try await db.raw(
                """
                SELECT \(unsafeRaw: StoredColumns.task) FROM tasks
                WHERE user_token_required = 1 AND status IN ('queued', 'assigned')
                ORDER BY created_at, id\(unsafeRaw: dialect.lockRowsSuffix)
                """
            ).all()
            var rejected: [TaskRecord] = []
            for row in waiting {
                let task = try row.storedTask()
                var machine = task.machine
                guard case .transition(let next) = machine.apply(.userTokenLost) else { continue }
                let updated = try await Self.updateTask(
                    db, id: task.record.id, from: task.record.status,
                    set: "status = \(bind: next.rawValue), error = \(bind: reason), finished_at = \(bind: at.unixSeconds)")
                if let updated { rejected.append(updated) }
            }
            return rejected
        }
    }
}
