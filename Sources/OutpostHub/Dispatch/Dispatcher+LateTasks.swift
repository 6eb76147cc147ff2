extension Dispatcher {
    /// The ids among `taskIDs` that this dispatcher does not hold for `agentID` (the
    /// ones `arrive` would answer with `abandon`). Lets the poll look at those few in
    /// the store before the dispatcher decides.
    func tasksNotHeld(by agentID: String, among taskIDs: [String]) -> [String] {
        taskIDs.filter { active[$0]?.agentID != agentID }
    }
}
