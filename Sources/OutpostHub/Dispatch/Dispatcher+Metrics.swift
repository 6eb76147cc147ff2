import Foundation
import OutpostCore

/// The fleet as `/metrics` describes it, taken in one step inside the dispatcher so
/// every gauge of a scrape agrees with the others.
///
/// Gauges are computed from this at scrape time rather than kept up to date on
/// every event: nothing can drift, and the dispatcher's hot paths stay untouched.
struct FleetSnapshot: Sendable, Equatable {
    /// Agents that share an agent type and a tag set: one autoscaling group.
    struct Pool: Sendable, Hashable {
        var agentType: String
        var tags: TagSet
    }

    /// What a pool's connected agents are doing.
    struct PoolCounts: Sendable, Equatable {
        /// Taking work, with at least one free slot (idle ones included).
        var online = 0
        /// Not draining, and no free slot.
        var busy = 0
        /// Finishing its tasks, taking no new ones.
        var draining = 0
        /// Online with no task assigned: a scale-in candidate. A subset of `online`.
        var idle = 0
        /// Sum of the agents' concurrency.
        var totalSlots = 0
        /// Slots that could take a task now (0 for a draining agent).
        var freeSlots = 0
        /// Assigned or running tasks held by the pool's agents.
        var runningTasks = 0

        var connected: Int { online + busy + draining }
    }

    /// The queued tasks of one target tag set.
    struct Lane: Sendable, Equatable {
        var count: Int
        /// When the longest-waiting of them was queued.
        var oldestQueuedAt: Date
    }

    var queuedTasks = 0
    var waitingPolls = 0
    var activeTasksByStatus: [TaskStatus: Int] = [:]
    var lanes: [TagSet: Lane] = [:]
    var pools: [Pool: PoolCounts] = [:]
}

extension FleetSnapshot.PoolCounts {
    /// Counts one agent in. `reportedFreeSlots` is what its last poll said; `activeTasks`
    /// what the hub has assigned to it since. The smaller free figure wins, so an agent
    /// that just claimed its last slot counts as busy before its next poll says so.
    mutating func add(concurrency: Int, reportedFreeSlots: Int, activeTasks: Int, draining: Bool) {
        let free = draining ? 0 : max(0, min(reportedFreeSlots, concurrency - activeTasks))
        totalSlots += concurrency
        freeSlots += free
        runningTasks += activeTasks
        if draining {
            self.draining += 1
        } else if free == 0 {
            busy += 1
        } else {
            online += 1
            if activeTasks == 0 { idle += 1 }
        }
    }
}

extension Dispatcher {
    /// The fleet now: queue lanes, agent pools and task counts, for `/metrics`.
    func fleetSnapshot() -> FleetSnapshot {
        var fleet = FleetSnapshot(queuedTasks: queue.count, waitingPolls: waiters.waitingCount)
        for entry in active.values { fleet.activeTasksByStatus[entry.status, default: 0] += 1 }
        for (tags, lane) in queue.laneSummaries() {
            fleet.lanes[tags] = FleetSnapshot.Lane(count: lane.count, oldestQueuedAt: lane.oldestQueuedAt)
        }
        for (id, session) in agents {
            let pool = FleetSnapshot.Pool(agentType: session.identity.type, tags: session.identity.tags)
            fleet.pools[pool, default: .init()].add(
                concurrency: session.record.concurrency, reportedFreeSlots: session.freeSlots,
                activeTasks: tasksByAgent[id]?.count ?? 0, draining: session.isWindingDown)
        }
        return fleet
    }
}
