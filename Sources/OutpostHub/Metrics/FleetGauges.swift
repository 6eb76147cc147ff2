import Foundation
import OutpostCore

/// The gauges of one scrape, computed from a `FleetSnapshot` and written straight
/// to the exposition text.
///
/// Why not a swift-prometheus registry (the counters and the histogram use one):
/// the gauges describe the fleet as it is now, so they are rebuilt every scrape,
/// and the registry copies a family's whole series table on each new label set —
/// quadratic in the number of series. With 10,000 agents in distinct tag sets
/// (70,000 series) a scrape took longer than 30 s; written directly it is linear.
/// A tag set or pool that is gone simply has no series next time (series that
/// emptied recently are still listed, with zeros, through `RecentLabelSets`).
struct FleetGauges {
    /// The gauge families, in the order they are written.
    static let families = [
        HubSeries.tasks, HubSeries.agents, HubSeries.queuedTasks, HubSeries.pollsWaiting,
        HubSeries.queuedTasksByTags, HubSeries.oldestQueuedAge, HubSeries.runningTasks,
        HubSeries.agentsByType, HubSeries.agentSlots,
    ]

    private var samples: [String: [UInt8]] = [:]

    /// Fills the gauges.
    /// - Parameters:
    ///   - queueTags: target tag sets to report (those queued now and those that emptied recently).
    ///   - pools: agent pools to report, likewise.
    init(
        fleet: FleetSnapshot, offlineAgents: Int, queueTags: [TagSet], pools: [FleetSnapshot.Pool], now: Date
    ) {
        set(HubSeries.tasks, [("status", "queued")], fleet.queuedTasks)
        for status in [TaskStatus.assigned, .running] {
            set(HubSeries.tasks, [("status", status.rawValue)], fleet.activeTasksByStatus[status] ?? 0)
        }
        set(HubSeries.queuedTasks, [], fleet.queuedTasks)
        set(HubSeries.pollsWaiting, [], fleet.waitingPolls)

        let all = fleet.pools.values.reduce(into: FleetSnapshot.PoolCounts()) { sum, pool in
            sum.online += pool.online
            sum.busy += pool.busy
            sum.draining += pool.draining
        }
        set(HubSeries.agents, [("status", "online")], all.online)
        set(HubSeries.agents, [("status", "busy")], all.busy)
        set(HubSeries.agents, [("status", "draining")], all.draining)
        set(HubSeries.agents, [("status", "offline")], offlineAgents)

        for tags in queueTags.sorted(by: { $0.description < $1.description }) {
            let lane = fleet.lanes[tags]
            let label = [("tags", tags.description)]
            set(HubSeries.queuedTasksByTags, label, lane?.count ?? 0)
            let age = lane.map { max(0, now.timeIntervalSince($0.oldestQueuedAt)) } ?? 0
            set(HubSeries.oldestQueuedAge, label, age)
        }

        for pool in pools.sorted(by: { ($0.agentType, $0.tags.description) < ($1.agentType, $1.tags.description) }) {
            let counts = fleet.pools[pool] ?? FleetSnapshot.PoolCounts()
            let labels = [("agent_type", pool.agentType), ("tags", pool.tags.description)]
            set(HubSeries.runningTasks, labels, counts.runningTasks)
            for (state, value) in [
                ("online", counts.online), ("busy", counts.busy), ("idle", counts.idle),
                ("draining", counts.draining),
            ] {
                set(HubSeries.agentsByType, labels + [("state", state)], value)
            }
            set(HubSeries.agentSlots, labels + [("kind", "total")], counts.totalSlots)
            set(HubSeries.agentSlots, labels + [("kind", "free")], counts.freeSlots)
        }
    }

    /// Appends the exposition text: every family's HELP and TYPE lines, then its samples.
    func emit(into buffer: inout [UInt8]) {
        for family in Self.families {
            buffer.append(contentsOf: family.header.utf8)
            if let lines = samples[family.name] { buffer.append(contentsOf: lines) }
        }
    }

    private mutating func set(_ family: MetricFamily, _ labels: [(String, String)], _ value: Int) {
        set(family, labels, Double(value))
    }

    private mutating func set(_ family: MetricFamily, _ labels: [(String, String)], _ value: Double) {
        var line = family.name
        if !labels.isEmpty {
            line += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        line += " \(value)\n"
        samples[family.name, default: []].append(contentsOf: line.utf8)
    }

    /// Label value escaping of the text format: backslash, double quote, line feed.
    static func escape(_ value: String) -> String {
        var escaped = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
            case "\"": escaped.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }
}

/// Label sets that had a series recently. One that empties (its last queued task
/// taken, its last agent gone) keeps reporting 0 for `retention` instead of
/// vanishing, so queries and autoscalers see a zero rather than "no data"; after
/// that it is dropped, so short-lived tag sets do not pile up series forever.
struct RecentLabelSets: Sendable {
    private var queueTags: [TagSet: Date] = [:]
    private var pools: [FleetSnapshot.Pool: Date] = [:]

    /// Records what `fleet` holds as seen `now`; returns everything to report.
    mutating func update(with fleet: FleetSnapshot, now: Date, retention: TimeInterval)
        -> (queueTags: [TagSet], pools: [FleetSnapshot.Pool])
    {
        for tags in fleet.lanes.keys { queueTags[tags] = now }
        for pool in fleet.pools.keys { pools[pool] = now }
        let cutoff = now.addingTimeInterval(-retention)
        queueTags = queueTags.filter { $0.value >= cutoff }
        pools = pools.filter { $0.value >= cutoff }
        return (Array(queueTags.keys), Array(pools.keys))
    }
}
