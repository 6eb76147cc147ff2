import Foundation
import OutpostCore
import OutpostStore

/// Queued tasks in memory, first in first out per task route (target tag set and
/// pinned agent types).
///
/// Agents take the oldest task across every route they may run (`Routing`), so
/// the queue keeps one lane per route and a global sequence number for "oldest".
/// There are few distinct routes, so scanning the lanes is cheap.
struct TaskQueue {
    /// A queued task with its place in the global order.
    struct Entry: Sendable, Equatable {
        var task: QueuedTask
        var sequence: UInt64
    }

    /// One route's tasks in order; `head` skips taken entries so taking is O(1).
    private struct Lane {
        var entries: [Entry] = []
        var head = 0

        var first: Entry? { head < entries.count ? entries[head] : nil }
        var isEmpty: Bool { head >= entries.count }

        mutating func append(_ entry: Entry) { entries.append(entry) }

        mutating func insertInOrder(_ entry: Entry) {
            let index = entries[head...].firstIndex { $0.sequence > entry.sequence } ?? entries.endIndex
            entries.insert(entry, at: index)
        }

        mutating func removeFirst() {
            head += 1
            // Compact once the dead prefix dominates, keeping memory bounded.
            if head > 64, head * 2 > entries.count {
                entries.removeFirst(head)
                head = 0
            }
        }

        mutating func remove(id: String) {
            guard let index = entries[head...].firstIndex(where: { $0.task.id == id }) else { return }
            if index == head { removeFirst() } else { entries.remove(at: index) }
        }
    }

    private var lanes: [TaskRoute: Lane] = [:]
    private var laneOfTask: [String: TaskRoute] = [:]
    private var nextSequence: UInt64 = 0

    var count: Int { laneOfTask.count }
    var isEmpty: Bool { laneOfTask.isEmpty }

    func contains(_ taskID: String) -> Bool { laneOfTask[taskID] != nil }

    /// The sequence number the next pushed task gets: entries below it are older than now.
    var mark: UInt64 { nextSequence }

    /// Ids of the queued tasks pushed before `mark`.
    func ids(before mark: UInt64) -> [String] {
        lanes.values.flatMap { lane in lane.entries[lane.head...].filter { $0.sequence < mark }.map(\.task.id) }
    }

    /// Appends a task at the end of its lane. A task already queued is ignored.
    mutating func push(_ task: QueuedTask) {
        guard laneOfTask[task.id] == nil else { return }
        let entry = Entry(task: task, sequence: nextSequence)
        nextSequence += 1
        lanes[task.route, default: Lane()].append(entry)
        laneOfTask[task.id] = task.route
    }

    /// Puts entries taken earlier back at their old places (a claim failed on the store).
    mutating func putBack(_ entries: [Entry]) {
        for entry in entries where laneOfTask[entry.task.id] == nil {
            lanes[entry.task.route, default: Lane()].insertInOrder(entry)
            laneOfTask[entry.task.id] = entry.task.route
        }
    }

    /// The oldest task that this agent may run, without taking it.
    func peekOldest(runnableBy agent: AgentRoute) -> Entry? {
        var best: Entry?
        for (route, lane) in lanes where Routing.agent(agent, mayRun: route) {
            guard let head = lane.first else { continue }
            if best == nil || head.sequence < best!.sequence { best = head }
        }
        return best
    }

    /// Takes the oldest task that this agent may run.
    mutating func popOldest(runnableBy agent: AgentRoute) -> Entry? {
        guard let entry = peekOldest(runnableBy: agent) else { return nil }
        let route = entry.task.route
        laneOfTask[entry.task.id] = nil
        lanes[route]?.removeFirst()
        if lanes[route]?.isEmpty == true { lanes[route] = nil }
        return entry
    }

    /// Removes a task (cancelled while queued). Returns `false` when it was not queued.
    @discardableResult
    mutating func remove(_ taskID: String) -> Bool {
        guard let route = laneOfTask.removeValue(forKey: taskID) else { return false }
        lanes[route]?.remove(id: taskID)
        if lanes[route]?.isEmpty == true { lanes[route] = nil }
        return true
    }
}

// MARK: Metrics (Dispatcher+Metrics.swift); in this file because the lanes are private.
extension TaskQueue {
    /// Per target tag set (lanes of one tag set with different pins together): how
    /// many tasks wait, and the earliest time one of them was queued.
    func laneSummaries() -> [TagSet: (count: Int, oldestQueuedAt: Date)] {
        var summaries: [TagSet: (count: Int, oldestQueuedAt: Date)] = [:]
        for (route, lane) in lanes {
            let waiting = lane.entries[lane.head...]
            guard let oldest = waiting.lazy.map(\.task.createdAt).min() else { continue }
            let known = summaries[route.tags]
            summaries[route.tags] = (
                (known?.count ?? 0) + waiting.count, min(known?.oldestQueuedAt ?? oldest, oldest)
            )
        }
        return summaries
    }
}
