import OutpostClient
import OutpostCore

/// What a failed hub call means for the agent. Retryability itself is decided
/// by `ClientError.isRetryable`; this adds only the agent protocol's meanings.
enum HubFailure: Sendable, Equatable {
    /// Try the same call again after a backoff (hub down, 5xx, timeouts).
    case retry
    /// The agent's session is gone (401 `unauthorized`/`agent_offline`, or 403
    /// `client_certificate_required`): the
    /// session re-registers; a task's calls retry and then use the new token.
    case sessionExpired
    /// The hub no longer wants this task from us (terminal there, unknown, not ours).
    case taskGone
    /// The hub misses log bytes: resume sending at this offset.
    case logGap(expectedOffset: Int64)
    /// The hub stores no more log for this task.
    case logTooLarge
    /// `finish` refused because the hub has fewer log bytes than announced.
    case logIncomplete
    /// Anything else: a bug or a refusal that repeating will not fix.
    case permanent

    init(_ error: ClientError) {
        switch error.apiCode {
        case .logGap:
            self = error.expectedOffset.map { .logGap(expectedOffset: $0) } ?? .permanent
        case .logTooLarge:
            self = .logTooLarge
        case .logIncomplete:
            self = .logIncomplete
        case .taskFinished:
            self = .taskGone
        case .clientCertificateRequired:
            // The hub no longer accepts the agent's client certificate (none, expired, or
            // its CA rotated away): like a lost session, the agent registers again for a
            // new one, and a task's calls retry rather than give the task up.
            self = .sessionExpired
        case .agentOffline, .unauthorized:
            self = error.status == 401 ? .sessionExpired : .permanent
        default:
            if error.isRetryable {
                self = .retry
            } else if error.status == 401 {
                self = .sessionExpired
            } else if error.status == 403 || error.status == 404 || error.status == 409 {
                // Forbidden or unknown task, or a conflict with its state: it is not ours to report any more.
                self = .taskGone
            } else {
                self = .permanent
            }
        }
    }
}
