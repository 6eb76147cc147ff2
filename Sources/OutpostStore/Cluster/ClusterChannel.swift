/// How the replicas of one hub tell each other that something changed, and which
/// of them does the leader-only work.
///
/// Messages are hints, never the truth: the store is. A replica that misses one
/// (a lost notification, a reconnect) finds the change at its next reconciliation
/// with the store, at most `ClusterTiming.reconcileInterval` later; a message only
/// makes it arrive sooner. That is why they may be coalesced and dropped freely.
package protocol ClusterChannel: Sendable {
    /// This replica's id, unique per process start.
    var replicaID: String { get }
    /// Queues lines for the other replicas. Never blocks and never fails: lines
    /// waiting to go out are coalesced (duplicates dropped) and sent together.
    func publish(_ lines: [String])
    /// What arrives from the other replicas, and changes of leadership. One consumer.
    var messages: AsyncStream<ClusterMessage> { get }
    /// Statements sent to the other replicas so far (each carries every line queued
    /// since the one before), for `/metrics`; 0 for a hub alone.
    var notifyStatementCount: Int { get }
    /// Runs the channel until cancelled: listening, sending, and holding or
    /// waiting for the leader lock.
    func run() async
}

/// One delivery from a `ClusterChannel`.
package enum ClusterMessage: Sendable, Equatable {
    /// Lines another replica published (each line once, in its order).
    case lines([String])
    /// Messages may have been missed (the channel reconnected): reconcile with the store now.
    case resync
    /// This replica became (`true`) or stopped being (`false`) the leader.
    case leadership(Bool)
}

/// The hub alone on its database (SQLite): nobody to tell, and always the leader.
package final class SingleHubChannel: ClusterChannel {
    package let replicaID: String
    package let messages: AsyncStream<ClusterMessage>
    private let continuation: AsyncStream<ClusterMessage>.Continuation

    package init(replicaID: String = "single") {
        self.replicaID = replicaID
        (messages, continuation) = AsyncStream.makeStream()
        continuation.yield(.leadership(true))
    }

    package func publish(_ lines: [String]) {}

    package var notifyStatementCount: Int { 0 }

    package func run() async {
        // Nothing to listen to; stay up until cancelled so the service group keeps it.
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        continuation.finish()
    }
}

/// The channel's clocks, in one place.
package enum ClusterTiming {
    /// The longest a missed message can delay work: every replica reconciles its
    /// queue and its view of running tasks with the store this often.
    package static let reconcileInterval: Duration = .seconds(1)
    /// How often a replica that is not the leader tries to become it (and the leader
    /// checks that its session still holds the lock). A killed leader's lock is
    /// released when its connection drops, so another replica leads within this.
    package static let leaderCheckInterval: Duration = .seconds(2)
    /// Longest a channel's own query (lock, listen) may take before the connection is replaced.
    package static let queryDeadline: Duration = .seconds(5)
}
