import Synchronization

/// Wakes requests that wait on a task (`?wait=`, log `follow`) when its log grows or
/// its status changes.
///
/// A request subscribes *before* it reads the task, then waits; a change that
/// happens between the read and the wait is remembered in the subscription, so no
/// wake-up is lost and nobody polls on an interval.
final class TaskWatchers: Sendable {
    struct Subscription: Sendable, Hashable {
        let taskID: String
        let id: Int
    }

    /// What changed about a task.
    enum Change: Sendable {
        /// Its log grew.
        case log
        /// Its status or flags changed.
        case status
    }

    private struct Entry {
        /// Wakes only on status changes (`?wait=` does not care about log bytes).
        var statusOnly = false
        /// A change arrived while nobody was waiting.
        var pending = false
        var continuation: CheckedContinuation<Void, Never>?
    }

    private struct State {
        var byTask: [String: [Int: Entry]] = [:]
        var nextID = 0
        var isShutDown = false
    }

    private let state = Mutex(State())
    /// With several replicas, a change made on another one arrives as a cluster event,
    /// which can be lost: then no wait lasts longer than this before its caller reads
    /// the store again. `nil` (one hub): a wait lasts until its change or deadline.
    private let longestWait: Duration?

    init(longestWait: Duration? = nil) {
        self.longestWait = longestWait
    }

    /// Number of live subscriptions (for tests that check nothing leaks).
    var subscriptionCount: Int {
        state.withLock { $0.byTask.values.reduce(0) { $0 + $1.count } }
    }

    func subscribe(taskID: String, statusOnly: Bool = false) -> Subscription {
        state.withLock { state in
            state.nextID += 1
            state.byTask[taskID, default: [:]][state.nextID] = Entry(statusOnly: statusOnly, pending: state.isShutDown)
            return Subscription(taskID: taskID, id: state.nextID)
        }
    }

    func unsubscribe(_ subscription: Subscription) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let entry = state.byTask[subscription.taskID]?.removeValue(forKey: subscription.id)
            if state.byTask[subscription.taskID]?.isEmpty == true { state.byTask[subscription.taskID] = nil }
            return entry?.continuation
        }
        continuation?.resume()
    }

    /// Something about the task changed: wake everyone watching for that.
    func notify(taskID: String, _ change: Change = .status) {
        let continuations = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard var entries = state.byTask[taskID] else { return [] }
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, entry) in entries where !(entry.statusOnly && change == .log) {
                if let continuation = entry.continuation { woken.append(continuation) }
                entries[id] = Entry(statusOnly: entry.statusOnly, pending: entry.continuation == nil)
            }
            state.byTask[taskID] = entries
            return woken
        }
        for continuation in continuations { continuation.resume() }
    }

    func notify(taskIDs: some Sequence<String>) {
        for id in taskIDs { notify(taskID: id) }
    }

    /// Wakes every watcher for good: the hub is stopping.
    func shutdown() {
        let continuations = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isShutDown = true
            var woken: [CheckedContinuation<Void, Never>] = []
            for (taskID, entries) in state.byTask {
                for (id, entry) in entries {
                    if let continuation = entry.continuation { woken.append(continuation) }
                    state.byTask[taskID]?[id] = Entry(statusOnly: entry.statusOnly, pending: true)
                }
            }
            return woken
        }
        for continuation in continuations { continuation.resume() }
    }

    var isShutDown: Bool { state.withLock { $0.isShutDown } }

    /// Returns after a change since the last wait, at `deadline`, or when the calling
    /// task is cancelled — whichever comes first. Callers re-read the task afterwards.
    func wait(_ subscription: Subscription, until deadline: ContinuousClock.Instant) async {
        let deadline = longestWait.map { min(deadline, .now + $0) } ?? deadline
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Cancelled by `cancelAll` below once woken, or with the request.
                try? await Task.sleep(until: deadline, clock: .continuous)
                self.wake(subscription)
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    guard var entry = state.byTask[subscription.taskID]?[subscription.id] else { return true }
                    // Checked under the lock that `wake` takes too, so a timer or a
                    // cancellation that fired before this point is never missed.
                    if entry.pending || entry.continuation != nil || Task.isCancelled
                        || ContinuousClock.now >= deadline
                    {
                        entry.pending = false
                        state.byTask[subscription.taskID]?[subscription.id] = entry
                        return true
                    }
                    entry.continuation = continuation
                    state.byTask[subscription.taskID]?[subscription.id] = entry
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
    }

    /// Wakes one waiting subscription (its timer fired or its request was cancelled).
    /// Leaves no `pending` mark: a wait that has not attached yet sees the deadline or
    /// the cancellation itself.
    private func wake(_ subscription: Subscription) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let continuation = state.byTask[subscription.taskID]?[subscription.id]?.continuation
            state.byTask[subscription.taskID]?[subscription.id]?.continuation = nil
            return continuation
        }
        continuation?.resume()
    }
}
