import OutpostCore

extension Dispatcher {
    /// The ids among `taskIDs` that this dispatcher does not hold for `agentID` (the
    /// ones `arrive` would answer with `abandon`). Lets the poll look at those few in
    /// the store before the dispatcher decides.
    func tasksNotHeld(by agentID: String, among taskIDs: [String]) -> [String] {
        taskIDs.filter { active[$0]?.agentID != agentID }
    }

    /// Tasks held for `agentID` as assigned, not in `running`, with no assignment to
    /// send again: known from the store only (reloaded or reconciled).
    func assignedWithoutAssignment(agentID: String, running: [String]) -> [String] {
        let running = Set(running)
        return (tasksByAgent[agentID] ?? []).filter { id in
            guard let entry = active[id] else { return false }
            return entry.fromStore && entry.status == .assigned && entry.pendingAssignment == nil && !running.contains(id)
        }
    }

    /// The assignment of a task held for `agentID`, read back from the store, to be sent again.
    func restoreAssignment(_ assignment: TaskAssignment, agentID: String) {
        guard active[assignment.taskID]?.agentID == agentID, active[assignment.taskID]?.status == .assigned else { return }
        active[assignment.taskID]?.pendingAssignment = assignment
        active[assignment.taskID]?.fromStore = false
    }
}
