import Foundation
import OutpostCore
import SQLKit

/// The ways a task ends: its agent's verdict, a user's cancel, the sweeper's timeout.
extension SQLHubStore {
    /// A finish with status `cancelled` is what the agent sends after a cancel. A
    /// finish for a `lost` task (its agent came back) is kept as the late result.
    /// - Throws: `.notFound`; `.forbidden` (another agent's task); `.conflict` when the
    ///   task already ended with another status or exit code, or the status is not one
    ///   an agent may report; `.logIncomplete` when `finish.logBytes` exceeds the stored
    ///   log (the agent should resend the missing bytes).
    package func finishTask(id: String, agentID: String, finish: FinishRequest, at: Date) async throws(StoreError)
        -> TaskRecord
    {
        try await write("finishing task \(id)") { db in
            let task = try await Self.loadReportingTask(db, id: id, agentID: agentID, lock: dialect.lockRowsSuffix)
            var machine = task.machine
            let verdict = TaskStateMachine.Verdict(status: finish.status, exitCode: finish.exitCode)
            switch machine.apply(.report(verdict)) {
            case .transition(let next):
                try Self.requireWholeLog(task, finish: finish)
                return try await Self.updateTaskOrFail(
                    db, id: id, from: task.record.status,
                    set: """
                        status = \(bind: next.rawValue), exit_code = \(bind: finish.exitCode.map(Int.init)),
                        error = \(bind: finish.error), finished_at = \(bind: at.unixSeconds),
                        user_subject = COALESCE(\(bind: finish.userSubject), user_subject),
                        signed_by = COALESCE(\(bind: finish.signedBy), signed_by),
                        signature_warning = COALESCE(\(bind: finish.signatureWarning), signature_warning)
                        """)
            case .recordLateResult(let late):
                try Self.requireWholeLog(task, finish: finish)
                // The status stays `lost`; the verdict is extra information, flagged late.
                return try await Self.updateTaskOrFail(
                    db, id: id, from: task.record.status,
                    set: """
                        late_status = \(bind: late.status.rawValue), late_exit_code = \(bind: late.exitCode.map(Int.init)),
                        late_finished_at = \(bind: at.unixSeconds),
                        late_log_offset = COALESCE(late_log_offset, log_bytes)
                        """)
            case .none, .signalAgentToCancel:
                return task.record
            case .refuse(let reason):
                throw StoreError(.conflict, "task \(id): \(reason)")
            }
        }
    }

    private static func requireWholeLog(_ task: StoredTask, finish: FinishRequest) throws(StoreError) {
        guard finish.logBytes <= task.record.logBytes else {
            throw StoreError(
                .logIncomplete(stored: task.record.logBytes),
                "log incomplete: task \(task.record.id) has \(task.record.logBytes) of the \(finish.logBytes) log bytes "
                    + "its agent reports; send the rest before finishing")
        }
    }

    /// Loads a task an agent reports on (log, finish): its own, or a `lost` one whose
    /// agent came back as a new session of the same name and agent type (the old
    /// session went offline while the agent was stopped or cut off).
    static func loadReportingTask(_ db: any SQLDatabase, id: String, agentID: String, lock: String) async throws
        -> StoredTask
    {
        guard let task = try await loadTask(db, id: id, lock: lock) else {
            throw StoreError(.notFound, "task \(id) does not exist")
        }
        if task.agentID == agentID { return task }
        if task.record.status == .lost, let owner = task.agentID,
            try await db.raw(
                """
                SELECT a.id FROM agents a, agents b
                WHERE a.id = \(bind: owner) AND b.id = \(bind: agentID) AND a.name = b.name AND a.type = b.type
                """
            ).first() != nil
        {
            return task
        }
        throw StoreError(.forbidden, "task \(id) is not assigned to this agent")
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
            case .none, .recordLateResult:
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
                WHERE \(unsafeRaw: StoredConditions.active)
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
                WHERE \(unsafeRaw: StoredConditions.awaitingUserToken)
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
