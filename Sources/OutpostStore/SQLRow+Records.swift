import Foundation
import OutpostCore
import SQLKit

/// The column lists the store selects, next to the code that reads them back, so
/// the two cannot drift apart.
enum StoredColumns {
    /// A task, plus `agent_id` for ownership checks (not part of `TaskRecord`).
    static let task = """
        id, target, status, exit_code, agent_id, agent_name, error, created_at, started_at, finished_at, \
        timeout_seconds, log_bytes, log_truncated, cancel_requested, created_by, user_token_required, user_subject, \
        signed, signed_by, signature_warning, late_status, late_exit_code, late_finished_at, late_log_offset
        """

    /// An agent (table alias `a`) with the count of its unfinished tasks, read from
    /// `tasks_active_agent` alone (its condition repeated word for word).
    static let agent = """
        a.id, a.name, a.type, a.tags, a.status, a.version, a.os, a.concurrency, a.provider_fingerprint, \
        a.registered_at, a.last_seen_at, a.aws_arn, a.disconnect_after_job, a.idle_timeout_seconds, a.signed_tasks, \
        (SELECT COUNT(*) FROM tasks t WHERE t.agent_id = a.id AND t.status IN ('assigned', 'running')) AS running_tasks
        """

    static let target = "name, integration, tags, env, secrets, timeout_seconds, created_at, agent_types"
    static let agentType = """
        name, name_policy, aws_rules, name_release_seconds, exclusive, token_revoked, created_at, token_rotated_at, \
        allowed_tags, require_client_cert, signed_tasks
        """
    static let apiToken = "id, name, token_hash, role, created_at, last_used_at"
}

/// A task row as the store's own logic needs it: the API record plus its owner.
struct StoredTask: Sendable {
    var record: TaskRecord
    /// The agent that claimed it; `nil` while queued (or cancelled from the queue).
    var agentID: String?

    var machine: TaskStateMachine {
        TaskStateMachine(
            status: record.status, cancelRequested: record.cancelRequested, exitCode: record.exitCode,
            lateVerdict: record.lateStatus.map { .init(status: $0, exitCode: record.lateExitCode) })
    }
}

extension SQLRow {
    func storedTask() throws(StoreError) -> StoredTask {
        let exitCode = try optionalColumn("exit_code", as: Int64.self)
        let record = TaskRecord(
            id: try column("id"),
            target: try column("target"),
            status: try taskStatus(),
            exitCode: exitCode.map { Int32(truncatingIfNeeded: $0) },
            agent: try optionalColumn("agent_name"),
            error: try optionalColumn("error"),
            createdAt: try date("created_at"),
            startedAt: try optionalDate("started_at"),
            finishedAt: try optionalDate("finished_at"),
            timeoutSeconds: try column("timeout_seconds"),
            logBytes: try column("log_bytes"),
            logTruncated: try flag("log_truncated"),
            cancelRequested: try flag("cancel_requested"),
            createdBy: try optionalColumn("created_by"),
            userTokenRequired: try flag("user_token_required"),
            userSubject: try optionalColumn("user_subject"),
            signed: try flag("signed"),
            signedBy: try optionalColumn("signed_by"),
            signatureWarning: try optionalColumn("signature_warning"),
            lateStatus: try optionalColumn("late_status", as: String.self).flatMap(TaskStatus.init(rawValue:)),
            lateExitCode: try optionalColumn("late_exit_code", as: Int64.self).map { Int32(truncatingIfNeeded: $0) },
            lateFinishedAt: try optionalDate("late_finished_at"),
            lateLogOffset: try optionalColumn("late_log_offset", as: Int64.self)
        )
        return StoredTask(record: record, agentID: try optionalColumn("agent_id"))
    }

    func taskRecord() throws(StoreError) -> TaskRecord { try storedTask().record }

    func agentRecord() throws(StoreError) -> AgentRecord {
        let rawStatus = try column("status", as: String.self)
        guard let status = AgentRecord.Status(rawValue: rawStatus) else {
            throw StoreError(.database, "stored agent status \"\(rawStatus)\" is not one this Outpost knows")
        }
        return AgentRecord(
            id: try column("id"),
            name: try column("name"),
            type: try column("type"),
            tags: try json("tags"),
            status: status,
            version: try column("version"),
            os: try column("os"),
            concurrency: try column("concurrency"),
            runningTasks: try column("running_tasks"),
            providerFingerprint: try column("provider_fingerprint"),
            registeredAt: try date("registered_at"),
            lastSeenAt: try date("last_seen_at"),
            awsARN: try optionalColumn("aws_arn"),
            disconnectAfterJob: try flag("disconnect_after_job"),
            idleTimeoutSeconds: try optionalColumn("idle_timeout_seconds"),
            signedTasks: try signedTaskMode()
        )
    }

    func target() throws(StoreError) -> Target {
        Target(
            name: try column("name"),
            integration: try column("integration"),
            tags: try json("tags"),
            agentTypes: try json("agent_types"),
            env: try json("env"),
            secrets: try json("secrets"),
            timeoutSeconds: try optionalColumn("timeout_seconds"),
            createdAt: try date("created_at")
        )
    }

    func agentType() throws(StoreError) -> AgentType {
        let rawPolicy = try column("name_policy", as: String.self)
        guard let policy = AgentType.NamePolicy(rawValue: rawPolicy) else {
            throw StoreError(.database, "stored name policy \"\(rawPolicy)\" is not one this Outpost knows")
        }
        let aws: AWSNamingRules? =
            try optionalColumn("aws_rules", as: String.self) == nil ? nil : try json("aws_rules")
        return AgentType(
            name: try column("name"), namePolicy: policy, aws: aws,
            nameReleaseSeconds: try column("name_release_seconds"), exclusive: try flag("exclusive"),
            allowedTags: try json("allowed_tags"), tokenRevoked: try flag("token_revoked"), createdAt: try date("created_at"),
            tokenRotatedAt: try date("token_rotated_at"), requireClientCertificate: try flag("require_client_cert"),
            signedTasks: try signedTaskMode())
    }

    /// `signed_tasks` of an agent or an agent type.
    private func signedTaskMode() throws(StoreError) -> SignedTaskMode {
        let raw = try column("signed_tasks", as: String.self)
        guard let mode = SignedTaskMode(rawValue: raw) else {
            throw StoreError(.database, "stored signed-task mode \"\(raw)\" is not one this Outpost knows")
        }
        return mode
    }

    func apiToken() throws(StoreError) -> APITokenRow {
        APITokenRow(
            id: try column("id"), name: try column("name"), hash: try column("token_hash"), role: try column("role"),
            createdAt: try date("created_at"), lastUsedAt: try optionalDate("last_used_at"))
    }
}
