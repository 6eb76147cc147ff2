import Foundation
import OutpostCore
import OutpostStore
import Prometheus
import Synchronization

/// What the hub counts for `/metrics`, and the exposition text (swift-prometheus).
///
/// Two kinds of series: counters and the dispatch latency histogram accumulate
/// over the hub's life and live in a long-lived registry here; gauges that
/// describe the fleet now are computed per scrape from a `FleetSnapshot`
/// (`FleetGauges`).
final class HubMetrics: Sendable {
    /// How long a tag set or agent pool that emptied keeps reporting zeros.
    static let emptySeriesRetention: TimeInterval = 15 * 60

    private let registry = PrometheusCollectorRegistry()
    private let finished: [TaskStatus: Counter]
    private let dispatchLatency = Mutex<[TagSet: ValueHistogram]>([:])
    private let recent = Mutex(RecentLabelSets())
    private let connectionsOpen: Gauge
    private let refusedAtTotal: Counter
    private let refusedAtPeer: Counter
    private let timedOut: [ConnectionTimeouts.Expiry: Counter]

    init() {
        var finished: [TaskStatus: Counter] = [:]
        // Created up front so every terminal status reads 0 before its first task.
        for status in TaskStatus.allCases where status.isTerminal {
            finished[status] = registry.makeCounter(
                descriptor: HubSeries.tasksFinished.descriptor, labels: [("status", status.rawValue)])
        }
        self.finished = finished
        // Created up front so they read 0 before the first connection or refusal.
        connectionsOpen = registry.makeGauge(descriptor: HubSeries.connectionsOpen.descriptor)
        refusedAtTotal = registry.makeCounter(
            descriptor: HubSeries.connectionsRefused.descriptor, labels: [("cap", "total")])
        refusedAtPeer = registry.makeCounter(
            descriptor: HubSeries.connectionsRefused.descriptor, labels: [("cap", "peer")])
        var timedOut: [ConnectionTimeouts.Expiry: Counter] = [:]
        for expiry in ConnectionTimeouts.Expiry.allCases {
            timedOut[expiry] = registry.makeCounter(
                descriptor: HubSeries.connectionsTimedOut.descriptor, labels: [("timeout", expiry.rawValue)])
        }
        self.timedOut = timedOut
    }

    /// The listener closed a connection for being slow or silent.
    func recordTimeout(_ expiry: ConnectionTimeouts.Expiry) {
        timedOut[expiry]?.increment()
    }

    /// The listener admitted a connection (`opened`), one closed, or one was refused at a cap.
    func recordConnection(_ decision: ConnectionLimiter.Decision) {
        switch decision {
        case .admitted: connectionsOpen.increment()
        case .refusedTotal: refusedAtTotal.increment()
        case .refusedPeer: refusedAtPeer.increment()
        }
    }

    func recordConnectionClosed() {
        connectionsOpen.decrement()
    }

    /// A task reached a terminal status (counted once per transition the hub saw).
    func recordFinished(_ status: TaskStatus) {
        finished[status]?.increment()
    }

    func recordFinished(_ tasks: [TaskRecord]) {
        for task in tasks { recordFinished(task.status) }
    }

    /// An agent claimed a queued task: observes how long it waited.
    func observeDispatch(of task: QueuedTask, claimedAt: Date) {
        let waited = max(0, claimedAt.timeIntervalSince(task.createdAt))
        let histogram = dispatchLatency.withLock { histograms in
            if let existing = histograms[task.tags] { return existing }
            let made = registry.makeValueHistogram(
                descriptor: HubSeries.dispatchLatency.descriptor, labels: [("tags", task.tags.description)],
                buckets: HubSeries.dispatchLatencyBuckets)
            histograms[task.tags] = made
            return made
        }
        histogram.record(waited)
    }

    /// The exposition text (format 0.0.4) of the fleet now and the counters so far.
    /// - Parameter notifyStatements: what the cluster channel counts itself
    ///   (`ClusterChannel.notifyStatementCount`), written as a counter.
    func exposition(fleet: FleetSnapshot, offlineAgents: Int, notifyStatements: Int, now: Date) -> [UInt8] {
        let (queueTags, pools) = recent.withLock {
            $0.update(with: fleet, now: now, retention: Self.emptySeriesRetention)
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        FleetGauges(fleet: fleet, offlineAgents: offlineAgents, queueTags: queueTags, pools: pools, now: now)
            .emit(into: &buffer)
        registry.emit(into: &buffer)
        if dispatchLatency.withLock({ $0.isEmpty }) {
            buffer.append(contentsOf: HubSeries.dispatchLatency.header.utf8)
        }
        let notify = HubSeries.clusterNotifyStatements
        buffer.append(contentsOf: (notify.header + "\(notify.name) \(notifyStatements)\n").utf8)
        return buffer
    }
}
