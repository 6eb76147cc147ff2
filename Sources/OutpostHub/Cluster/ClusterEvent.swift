/// What one hub replica tells the others, one line each on the cluster channel.
///
/// Events are hints that make a change reach the other replicas at once; the
/// store is the truth, and each replica reconciles with it every
/// `ClusterTiming.reconcileInterval`, so an event that is lost (or never sent,
/// `cluster_notify: false`) only delays what it announces. Ids are the hub's own
/// (`tsk_…`, `agt_…`, `lst_…`): letters, digits and underscores, never spaces.
enum ClusterEvent: Sendable, Hashable {
    /// A task was queued: replicas with a matching agent waiting hand it out.
    case queued(taskID: String)
    /// A task was claimed: other replicas drop it from their queues.
    case claimed(taskID: String)
    /// A task ended (finished, cancelled, lost, timed out, rejected).
    case ended(taskID: String)
    /// A user asked to cancel a task an agent holds: the replica with that agent's poll tells it.
    case cancelRequested(taskID: String)
    /// A task's log grew: followers on other replicas read on.
    case logAppended(taskID: String)
    /// A task started or changed otherwise: waiters look again.
    case changed(taskID: String)
    /// An agent was taken offline: the replica holding its poll lets it go.
    case agentOffline(agentID: String)
    /// An operator drained an agent.
    case agentDrained(agentID: String)
    /// A user asked an agent for its secret names (the request is in the store): the
    /// replica holding the agent's poll asks it.
    case secretListingRequested(requestID: String)
    /// An agent's answer to a listing is in the store, for the replica whose user waits.
    case secretListingReady(requestID: String)

    /// The line on the wire: a one-letter kind and the ids, separated by spaces.
    var line: String {
        switch self {
        case .queued(let task): "q \(task)"
        case .claimed(let task): "c \(task)"
        case .ended(let task): "e \(task)"
        case .cancelRequested(let task): "x \(task)"
        case .logAppended(let task): "l \(task)"
        case .changed(let task): "m \(task)"
        case .agentOffline(let agent): "o \(agent)"
        case .agentDrained(let agent): "d \(agent)"
        case .secretListingRequested(let request): "s \(request)"
        case .secretListingReady(let request): "r \(request)"
        }
    }

    /// Parses a line; `nil` for anything malformed or unknown (a newer replica's
    /// event during a rolling upgrade is skipped, and the reconciliation covers it).
    init?(line: String) {
        let parts = line.split(separator: " ").map(String.init)
        guard let kind = parts.first, parts.dropFirst().allSatisfy(Self.isID) else { return nil }
        switch (kind, parts.count) {
        case ("q", 2): self = .queued(taskID: parts[1])
        case ("c", 2): self = .claimed(taskID: parts[1])
        case ("e", 2): self = .ended(taskID: parts[1])
        case ("x", 2): self = .cancelRequested(taskID: parts[1])
        case ("l", 2): self = .logAppended(taskID: parts[1])
        case ("m", 2): self = .changed(taskID: parts[1])
        case ("o", 2): self = .agentOffline(agentID: parts[1])
        case ("d", 2): self = .agentDrained(agentID: parts[1])
        case ("s", 2): self = .secretListingRequested(requestID: parts[1])
        case ("r", 2): self = .secretListingReady(requestID: parts[1])
        default: return nil
        }
    }

    private static func isID(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
    }
}
