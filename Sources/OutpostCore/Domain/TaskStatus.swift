/// Where a task is in its life. The raw values are the wire and storage spelling.
///
/// `queued → assigned → running → succeeded | failed | cancelled | timed_out | lost`,
/// plus `rejected` when the agent refuses the task before running it.
package enum TaskStatus: String, Codable, Sendable, CaseIterable, Hashable {
    case queued
    case assigned
    case running
    case succeeded
    case failed
    case cancelled
    case timedOut = "timed_out"
    case lost
    case rejected

    /// A terminal task never changes status again.
    package var isTerminal: Bool {
        switch self {
        case .queued, .assigned, .running: false
        case .succeeded, .failed, .cancelled, .timedOut, .lost, .rejected: true
        }
    }

    /// The statuses an agent may report when it finishes a task.
    package var isAgentReportable: Bool {
        switch self {
        case .succeeded, .failed, .cancelled, .timedOut, .rejected: true
        case .queued, .assigned, .running, .lost: false
        }
    }
}
