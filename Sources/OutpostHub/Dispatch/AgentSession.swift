import Foundation
import OutpostCore

/// What the hub keeps in memory about an online agent between its polls.
struct AgentSession {
    var identity: AgentIdentity
    var record: AgentRecord
    /// Hash of its agent token once seen (filled lazily after a hub restart).
    var tokenHash: String?
    var lastSeen: Date
    var freeSlots: Int
    var draining = false
    /// Controls not yet delivered (delivered once, on the next poll answer).
    var pendingControls: [ControlMessage] = []
    /// Tasks an `abandon` was already sent for, so a task still listed while the agent
    /// tears it down does not answer every poll at once.
    var abandoned: Set<String> = []
    /// Which poll is current; an older poll still waiting is answered empty.
    var pollGeneration: UInt64 = 0
    /// The waiter of its current poll, while it waits.
    var waiterID: Int?

    init(record: AgentRecord, tokenHash: String?, lastSeen: Date) {
        identity = AgentIdentity(record)
        self.record = record
        self.tokenHash = tokenHash
        self.lastSeen = lastSeen
        freeSlots = record.concurrency
    }

    var wantsTasks: Bool { !draining && freeSlots > 0 }

    var status: AgentRecord.Status {
        if draining { return .draining }
        return freeSlots > 0 ? .online : .busy
    }
}

/// An assigned or running task as the dispatcher tracks it.
struct ActiveEntry {
    var agentID: String
    var status: TaskStatus
    var cancelRequested: Bool
    /// Kept until the agent acknowledges the task (lists it as running or starts it),
    /// so an assignment lost on the way can be sent again.
    var pendingAssignment: TaskAssignment?
}
