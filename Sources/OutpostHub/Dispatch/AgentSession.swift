import Foundation
import OutpostCore

/// What the hub keeps in memory about an online agent between its polls.
struct AgentSession {
    var identity: AgentIdentity
    var record: AgentRecord
    /// Hash of its agent token once seen (filled lazily after a hub restart).
    var tokenHash: String?
    var lastSeen: Date
    /// The last-seen time last written to the store (several replicas: written coarsely).
    var lastWritten: Date?
    var freeSlots: Int
    /// The agent itself is shutting down gracefully (its polls say so).
    var draining = false
    /// An operator asked the hub to drain it (`outpost agents drain`).
    var drainRequested: Bool
    /// Tasks it claimed in this session (for disconnect-after-job).
    var tasksTaken = 0
    /// Since when it holds no task; `nil` while it holds one.
    var idleSince: Date?
    /// Once decided, the agent gets no more work and is told to disconnect, with this reason.
    var disconnectReason: String?
    /// Controls not yet delivered (delivered once, on the next poll answer).
    var pendingControls: [ControlMessage] = []
    /// Tasks an `abandon` was already sent for, so a task still listed while the agent
    /// tears it down does not answer every poll at once.
    var abandoned: Set<String> = []
    /// Which poll is current; an older poll still waiting is answered empty.
    var pollGeneration: UInt64 = 0
    /// The waiter of its current poll, while it waits.
    var waiterID: Int?
    /// The tasks its current poll listed as running: each held a slot that poll did not
    /// offer. When the agent reports one of them finished, that slot is free and the
    /// waiting poll takes work (`Dispatcher.agentFinished`).
    var pollHolds: Set<String> = []

    init(record: AgentRecord, tokenHash: String?, lastSeen: Date) {
        identity = AgentIdentity(record)
        self.record = record
        self.tokenHash = tokenHash
        self.lastSeen = lastSeen
        freeSlots = record.concurrency
        drainRequested = record.status == .draining
        idleSince = lastSeen
    }

    /// Takes no new work: shutting down, drained, or leaving.
    var isWindingDown: Bool { draining || drainRequested || disconnectReason != nil }

    /// How many more tasks it may be given now.
    var slotsForNewWork: Int {
        guard !isWindingDown else { return 0 }
        // An ephemeral agent runs exactly one task per registration.
        if record.disconnectAfterJob { return max(0, min(freeSlots, 1 - tasksTaken)) }
        return freeSlots
    }

    var status: AgentRecord.Status {
        if isWindingDown { return .draining }
        return freeSlots > 0 ? .online : .busy
    }

    /// Why the hub should tell this agent (holding no task) to disconnect now, if it should.
    func leaveReason(now: Date) -> String? {
        if let disconnectReason { return disconnectReason }
        if drainRequested { return "drained by an operator (outpost agents drain)" }
        if record.disconnectAfterJob, tasksTaken > 0 { return "it finished its job (--disconnect-after-job)" }
        if let idle = record.idleTimeoutSeconds, let idleSince, now.timeIntervalSince(idleSince) >= idle {
            return "it was idle for \(DurationParser.format(idle)) (--disconnect-after-idle-timeout)"
        }
        return nil
    }

    /// When the idle timeout will make it leave, if it holds no task and has one.
    func idleDeadline() -> Date? {
        guard let idle = record.idleTimeoutSeconds, let idleSince else { return nil }
        return idleSince.addingTimeInterval(idle)
    }
}

/// An assigned or running task as the dispatcher tracks it. Its lifecycle is the one
/// `TaskStateMachine`, so the dispatcher decides a cancel by the same rule as the store.
struct ActiveEntry {
    var agentID: String
    var machine: TaskStateMachine
    var status: TaskStatus { machine.status }
    /// Kept until the agent acknowledges the task (lists it as running or starts it),
    /// so an assignment lost on the way can be sent again.
    var pendingAssignment: TaskAssignment?
    /// When it was tracked (`Dispatcher.activeEpoch`), to tell it from a store read that started earlier.
    var epoch: UInt64 = 0
    /// Known from the store only (reloaded, reconciled, adopted), never handed out or
    /// acknowledged here: if its agent does not run it, its assignment is read back
    /// from the store and sent again.
    var fromStore = false
}
