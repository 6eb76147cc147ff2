import OutpostCore

/// Polls waiting for work, indexed by the agent's type and tag set so a new task
/// finds the longest-waiting agent that may run it without scanning every poll.
///
/// A waiter is registered before its poll suspends; an answer that arrives in
/// between is kept and handed over when the poll attaches its continuation, so no
/// wake-up is ever lost.
struct PollWaiters {
    private enum State {
        case waiting(CheckedContinuation<DispatchHandout, Never>?)
        case answered(DispatchHandout)
    }

    private struct Waiter {
        var agentID: String
        var route: AgentRoute
        var state: State
    }

    private var waiters: [Int: Waiter] = [:]
    /// Waiters that want tasks, oldest first per agent type and tag set.
    private var byRoute: [AgentRoute: [Int]] = [:]
    private var nextID = 0

    /// Polls that are waiting (not yet answered).
    var waitingCount: Int {
        waiters.values.count { if case .waiting = $0.state { true } else { false } }
    }

    /// Registers a poll. `wantsTasks` is `false` for a draining or full agent (it waits for controls only).
    mutating func register(agentID: String, route: AgentRoute, wantsTasks: Bool) -> Int {
        nextID += 1
        waiters[nextID] = Waiter(agentID: agentID, route: route, state: .waiting(nil))
        if wantsTasks { byRoute[route, default: []].append(nextID) }
        return nextID
    }

    /// Attaches the suspended poll. Returns the answer at once if it came first.
    mutating func attach(_ id: Int, _ continuation: CheckedContinuation<DispatchHandout, Never>) -> DispatchHandout? {
        guard let waiter = waiters[id] else { return .finalEmpty }
        switch waiter.state {
        case .answered(let handout):
            waiters[id] = nil
            return handout
        case .waiting:
            waiters[id]?.state = .waiting(continuation)
            return nil
        }
    }

    /// Answers a waiting poll (resumes it, or keeps the answer until it attaches).
    /// Returns `false` when the poll was already answered or is unknown.
    @discardableResult
    mutating func answer(_ id: Int, with handout: DispatchHandout) -> Bool {
        guard let waiter = waiters[id], case .waiting(let continuation) = waiter.state else { return false }
        unindex(id, route: waiter.route)
        if let continuation {
            waiters[id] = nil
            continuation.resume(returning: handout)
        } else {
            waiters[id]?.state = .answered(handout)
        }
        return true
    }

    /// The longest-waiting poll whose agent may run a task with this route.
    func oldest(for task: TaskRoute) -> (id: Int, agentID: String)? {
        var best: Int?
        for (route, ids) in byRoute where Routing.agent(route, mayRun: task) {
            if let first = ids.first, best == nil || first < best! { best = first }
        }
        guard let best, let waiter = waiters[best] else { return nil }
        return (best, waiter.agentID)
    }

    /// Indexes a waiting poll that registered without room as one that takes tasks now
    /// (its agent freed a slot), in its place by age.
    mutating func wantTasks(_ id: Int) {
        guard let waiter = waiters[id], case .waiting = waiter.state else { return }
        var ids = byRoute[waiter.route] ?? []
        guard !ids.contains(id) else { return }
        ids.insert(id, at: ids.firstIndex { $0 > id } ?? ids.endIndex)
        byRoute[waiter.route] = ids
    }

    /// Whether the waiting poll is indexed as one that takes tasks.
    func wantsTasks(_ id: Int) -> Bool {
        guard let waiter = waiters[id] else { return false }
        return byRoute[waiter.route]?.contains(id) ?? false
    }

    /// Every waiting poll's id (for shutdown).
    var waitingIDs: [Int] {
        waiters.compactMap { id, waiter in if case .waiting = waiter.state { id } else { nil } }
    }

    private mutating func unindex(_ id: Int, route: AgentRoute) {
        guard var ids = byRoute[route], let index = ids.firstIndex(of: id) else { return }
        ids.remove(at: index)
        byRoute[route] = ids.isEmpty ? nil : ids
    }
}
