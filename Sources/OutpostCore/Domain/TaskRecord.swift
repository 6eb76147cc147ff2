package import Foundation

/// One run of a script against a target, as the API shows it.
package struct TaskRecord: Codable, Sendable, Equatable {
    package var id: String
    /// Name of the target the task was submitted for.
    package var target: String
    package var status: TaskStatus
    /// The process's exit code once it ended; `nil` before, or when it never ran.
    package var exitCode: Int32?
    /// Name of the agent that claimed the task.
    package var agent: String?
    /// Why the task did not succeed, in one line (rejections, timeouts, losses).
    package var error: String?
    package var createdAt: Date
    package var startedAt: Date?
    package var finishedAt: Date?
    /// Seconds the task may run before it is stopped and marked `timed_out`.
    package var timeoutSeconds: Int
    /// Bytes of log stored on the hub so far.
    package var logBytes: Int64
    /// `true` once the log hit its cap and later output was dropped.
    package var logTruncated: Bool
    /// `true` once a user asked to cancel a task an agent holds.
    package var cancelRequested: Bool
    /// Who submitted the task (the API token's name).
    package var createdBy: String?
    /// The task was submitted with a user session token (held in memory only, never stored).
    package var userTokenRequired: Bool
    /// The subject (`sub`) of the user token the agent verified, when it checked one.
    package var userSubject: String?
    /// The task was submitted with a signature (signed tasks); the hub cannot check it.
    package var signed: Bool
    /// The id of the key whose signature the agent verified before running the task.
    package var signedBy: String?
    /// Why the agent's signature check failed when it ran the task anyway
    /// (`require_signed_tasks: warn`): what `require` would have refused it for.
    package var signatureWarning: String?
    /// Set when the task's agent came back after the task was marked `lost` and
    /// reported how it ended (a late result): the status it reported. The task's own
    /// status stays `lost`.
    package var lateStatus: TaskStatus?
    /// The exit code of the late result.
    package var lateExitCode: Int32?
    /// When the hub received the late result.
    package var lateFinishedAt: Date?
    /// Where in the log the bytes that arrived after the task was lost begin.
    package var lateLogOffset: Int64?

    package init(
        id: String,
        target: String,
        status: TaskStatus = .queued,
        exitCode: Int32? = nil,
        agent: String? = nil,
        error: String? = nil,
        createdAt: Date,
        startedAt: Date? = nil,
        finishedAt: Date? = nil,
        timeoutSeconds: Int,
        logBytes: Int64 = 0,
        logTruncated: Bool = false,
        cancelRequested: Bool = false,
        createdBy: String? = nil,
        userTokenRequired: Bool = false,
        userSubject: String? = nil,
        signed: Bool = false,
        signedBy: String? = nil,
        signatureWarning: String? = nil,
        lateStatus: TaskStatus? = nil,
        lateExitCode: Int32? = nil,
        lateFinishedAt: Date? = nil,
        lateLogOffset: Int64? = nil
    ) {
        self.id = id
        self.target = target
        self.status = status
        self.exitCode = exitCode
        self.agent = agent
        self.error = error
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.timeoutSeconds = timeoutSeconds
        self.logBytes = logBytes
        self.logTruncated = logTruncated
        self.cancelRequested = cancelRequested
        self.createdBy = createdBy
        self.userTokenRequired = userTokenRequired
        self.userSubject = userSubject
        self.signed = signed
        self.signedBy = signedBy
        self.signatureWarning = signatureWarning
        self.lateStatus = lateStatus
        self.lateExitCode = lateExitCode
        self.lateFinishedAt = lateFinishedAt
        self.lateLogOffset = lateLogOffset
    }

    enum CodingKeys: String, CodingKey {
        case id, target, status, agent, error
        case exitCode = "exit_code"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case timeoutSeconds = "timeout_seconds"
        case logBytes = "log_bytes"
        case logTruncated = "log_truncated"
        case cancelRequested = "cancel_requested"
        case createdBy = "created_by"
        case userTokenRequired = "user_token_required"
        case userSubject = "user_subject"
        case signed
        case signedBy = "signed_by"
        case signatureWarning = "signature_warning"
        case lateStatus = "late_status"
        case lateExitCode = "late_exit_code"
        case lateFinishedAt = "late_finished_at"
        case lateLogOffset = "late_log_offset"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), target: try c.decode(String.self, forKey: .target),
            status: try c.decode(TaskStatus.self, forKey: .status),
            exitCode: try c.decodeIfPresent(Int32.self, forKey: .exitCode),
            agent: try c.decodeIfPresent(String.self, forKey: .agent),
            error: try c.decodeIfPresent(String.self, forKey: .error),
            createdAt: try c.decode(Date.self, forKey: .createdAt),
            startedAt: try c.decodeIfPresent(Date.self, forKey: .startedAt),
            finishedAt: try c.decodeIfPresent(Date.self, forKey: .finishedAt),
            timeoutSeconds: try c.decode(Int.self, forKey: .timeoutSeconds),
            logBytes: try c.decode(Int64.self, forKey: .logBytes),
            logTruncated: try c.decode(Bool.self, forKey: .logTruncated),
            cancelRequested: try c.decode(Bool.self, forKey: .cancelRequested),
            createdBy: try c.decodeIfPresent(String.self, forKey: .createdBy),
            userTokenRequired: try c.decodeIfPresent(Bool.self, forKey: .userTokenRequired) ?? false,
            userSubject: try c.decodeIfPresent(String.self, forKey: .userSubject),
            signed: try c.decodeIfPresent(Bool.self, forKey: .signed) ?? false,
            signedBy: try c.decodeIfPresent(String.self, forKey: .signedBy),
            signatureWarning: try c.decodeIfPresent(String.self, forKey: .signatureWarning),
            lateStatus: try c.decodeIfPresent(TaskStatus.self, forKey: .lateStatus),
            lateExitCode: try c.decodeIfPresent(Int32.self, forKey: .lateExitCode),
            lateFinishedAt: try c.decodeIfPresent(Date.self, forKey: .lateFinishedAt),
            lateLogOffset: try c.decodeIfPresent(Int64.self, forKey: .lateLogOffset))
    }

    package func encode(to encoder: any Encoder) throws {
        // Always write the optional keys (as null) so clients see a stable shape.
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(target, forKey: .target)
        try c.encode(status, forKey: .status)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(agent, forKey: .agent)
        try c.encode(error, forKey: .error)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(timeoutSeconds, forKey: .timeoutSeconds)
        try c.encode(logBytes, forKey: .logBytes)
        try c.encode(logTruncated, forKey: .logTruncated)
        try c.encode(cancelRequested, forKey: .cancelRequested)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(userTokenRequired, forKey: .userTokenRequired)
        try c.encode(userSubject, forKey: .userSubject)
        try c.encode(signed, forKey: .signed)
        try c.encode(signedBy, forKey: .signedBy)
        try c.encode(signatureWarning, forKey: .signatureWarning)
        try c.encode(lateStatus, forKey: .lateStatus)
        try c.encode(lateExitCode, forKey: .lateExitCode)
        try c.encode(lateFinishedAt, forKey: .lateFinishedAt)
        try c.encode(lateLogOffset, forKey: .lateLogOffset)
    }
}
