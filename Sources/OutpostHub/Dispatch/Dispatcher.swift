import Foundation
import Logging
import OutpostCore
import OutpostStore

/// Matches queued tasks with polling agents, in memory.
///
/// Every method is synchronous inside the actor: the dispatcher never awaits the
/// store, so no other call can interleave half-way through a decision. Store work
/// (claiming a task) happens in the poll's own task with the entries the
/// dispatcher already took out of its structures; refused entries are dropped and
/// failed ones put back. A task queued while a matching agent waits is handed to
/// that poll at once — nothing on this path polls on an interval.
actor Dispatcher {
    var queue = TaskQueue()
    var waiters = PollWaiters()
    var agents: [String: AgentSession] = [:]
    var agentByTokenHash: [String: String] = [:]
    /// Agents being taken offline: their token must not be re-adopted from the store meanwhile.
    var retiring: Set<String> = []
    var active: [String: ActiveEntry] = [:]
    var tasksByAgent: [String: Set<String>] = [:]
    /// Cancels asked for while a claim was between the store and `recordClaim`.
    var cancelsBeforeClaim: Set<String> = []
    /// Last-seen times not yet written to the store.
    var dirtyHeartbeats: [String: Date] = [:]
    /// Counts `track` calls, so a reconciliation knows which entries are newer than its read.
    var activeEpoch: UInt64 = 0
    var isShuttingDown = false
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    // MARK: Start-up

    /// Reloads what the store holds after a (re)start. Reloaded agents count as seen now,
    /// so they get a full heartbeat timeout to poll again.
    func load(queued: [QueuedTask], active activeTasks: [ActiveTask], agents records: [AgentRecord], now: Date) {
        for record in records where record.status != .offline {
            agents[record.id] = AgentSession(record: record, tokenHash: nil, lastSeen: now)
        }
        for task in queued { queue.push(task) }
        for task in activeTasks {
            let machine = TaskStateMachine(status: task.status, cancelRequested: task.cancelRequested)
            track(task.id, ActiveEntry(agentID: task.agentID, machine: machine, fromStore: true))
            if task.cancelRequested {
                agents[task.agentID]?.pendingControls.append(ControlMessage(kind: .cancel, taskID: task.id))
            }
        }
    }

    // MARK: Tasks

    /// A task was queued: hand it to the longest-waiting agent that may run it, or queue it.
    func enqueue(_ task: QueuedTask) {
        queue.push(task)
        guard !isShuttingDown, let (waiterID, agentID) = waiters.oldest(for: task.route),
            let session = agents[agentID], let entry = queue.popOldest(runnableBy: session.identity.route)
        else { return }
        var handout = DispatchHandout(candidates: [entry])
        handout.controls = takeControls(of: agentID)
        answer(agentID: agentID, waiterID: waiterID, with: handout)
    }

    /// Entries a poll took but could not claim because the store failed: back to their places.
    func putBack(_ entries: [TaskQueue.Entry]) {
        queue.putBack(entries)
        for entry in entries where queue.contains(entry.task.id) {
            // Re-offer: a waiter may have arrived while the entry was out.
            if let (waiterID, agentID) = waiters.oldest(for: entry.task.route),
                let session = agents[agentID], let next = queue.popOldest(runnableBy: session.identity.route)
            {
                answer(agentID: agentID, waiterID: waiterID, with: DispatchHandout(candidates: [next]))
            }
        }
    }

    /// The store gave the task to this agent.
    func recordClaim(taskID: String, agentID: String, assignment: TaskAssignment) {
        agents[agentID]?.tasksTaken += 1
        agents[agentID]?.idleSince = nil
        track(
            taskID,
            ActiveEntry(
                agentID: agentID, machine: TaskStateMachine(status: .assigned), pendingAssignment: assignment))
        if cancelsBeforeClaim.remove(taskID) != nil { requestCancel(taskID) }
    }

    /// The agent started the task: it has its assignment.
    func taskStarted(_ taskID: String) {
        _ = active[taskID]?.machine.apply(.start)
        active[taskID]?.pendingAssignment = nil
    }

    /// Tasks became terminal (finished, cancelled, lost, timed out): forget them. An
    /// agent left without tasks starts its idle time, and is told to leave at once
    /// when it should (its waiting poll answers).
    func tasksEnded(_ taskIDs: [String], now: Date) {
        var freed: Set<String> = []
        for id in taskIDs {
            queue.remove(id)
            cancelsBeforeClaim.remove(id)
            if let entry = active.removeValue(forKey: id) {
                tasksByAgent[entry.agentID]?.remove(id)
                if tasksByAgent[entry.agentID]?.isEmpty ?? true { freed.insert(entry.agentID) }
            }
        }
        for agentID in freed where agents[agentID] != nil {
            agents[agentID]?.idleSince = now
            settleWaiter(of: agentID, now: now)
        }
    }

    /// The agent reported the end of a task its waiting poll counted as running: the
    /// slot is free, so that poll takes work now — the next task travels back on the
    /// poll already open while the finish is answered, instead of the agent cancelling
    /// the poll and sending a new one to say it has room. Call after `tasksEnded`.
    /// Returns whether the waiting poll took the slot over (the agent then keeps it).
    func agentFinished(_ taskID: String, agentID: String) -> Bool {
        guard var session = agents[agentID], let waiterID = session.waiterID, session.pollHolds.remove(taskID) != nil
        else { return false }
        session.freeSlots = min(session.record.concurrency, session.freeSlots + 1)
        agents[agentID] = session
        let slots = session.slotsForNewWork
        guard slots > 0, !isShuttingDown else { return true }
        var handout = DispatchHandout()
        while handout.candidates.count < slots, let entry = queue.popOldest(runnableBy: session.identity.route) {
            handout.candidates.append(entry)
        }
        if handout.candidates.isEmpty {
            waiters.wantTasks(waiterID)
        } else {
            handout.controls = takeControls(of: agentID)
            answer(agentID: agentID, waiterID: waiterID, with: handout)
        }
        return true
    }

    /// Queues a control message for an agent and wakes its waiting poll.
    func send(_ message: ControlMessage, to agentID: String) {
        guard agents[agentID] != nil else { return }
        agents[agentID]?.pendingControls.append(message)
        if let waiterID = agents[agentID]?.waiterID {
            answer(agentID: agentID, waiterID: waiterID, with: DispatchHandout(controls: takeControls(of: agentID)))
        }
    }

    /// Whether the agent polls this replica (or polled it last).
    func isOnline(_ agentID: String) -> Bool {
        agents[agentID] != nil
    }

    /// The id of the online agent with this name.
    func onlineAgentID(named name: String) -> String? {
        agents.first { $0.value.identity.name == name }?.key
    }

    /// A user asked to cancel a task an agent holds: tell that agent, waking its poll.
    func requestCancel(_ taskID: String) {
        guard var entry = active[taskID] else {
            cancelsBeforeClaim.insert(taskID)
            return
        }
        // Only the first cancel of a held task signals its agent; repeats change nothing.
        guard entry.machine.apply(.cancel) == .signalAgentToCancel else { return }
        active[taskID] = entry
        send(ControlMessage(kind: .cancel, taskID: taskID), to: entry.agentID)
    }

    // MARK: Polls

    /// A poll arrived: refresh the heartbeat, supersede the agent's older poll,
    /// reconcile what it runs, and answer at once if there is anything to say.
    /// Returns `nil` when the agent is no longer online here.
    func arrive(agentID: String, request: PollRequest, now: Date) -> PollTicket? {
        guard var session = agents[agentID] else { return nil }
        touch(&session, now)
        session.pollGeneration += 1
        if let old = session.waiterID {
            waiters.answer(old, with: .finalEmpty)
            session.waiterID = nil
        }
        session.freeSlots = max(0, request.freeSlots)
        session.draining = request.draining
        session.pollHolds = Set(request.running)

        // Reconcile the agent's view with ours.
        let running = Set(request.running)
        var redeliveries: [TaskAssignment] = []
        for taskID in tasksByAgent[agentID] ?? [] {
            guard let entry = active[taskID], entry.status == .assigned, let assignment = entry.pendingAssignment
            else { continue }
            if running.contains(taskID) {
                active[taskID]?.pendingAssignment = nil  // acknowledged
                active[taskID]?.fromStore = false
            } else {
                redeliveries.append(assignment)
            }
        }
        for taskID in request.running where active[taskID]?.agentID != agentID {
            if !session.abandoned.contains(taskID) {
                session.abandoned.insert(taskID)
                session.pendingControls.append(ControlMessage(kind: .abandon, taskID: taskID))
            }
        }
        session.abandoned.formIntersection(running)
        agents[agentID] = session

        let generation = session.pollGeneration
        if isShuttingDown {
            var handout = DispatchHandout(redeliveries: redeliveries, controls: takeControls(of: agentID))
            handout.isFinal = true
            return PollTicket(generation: generation, handout: handout)
        }
        let slots = max(0, session.freeSlots - redeliveries.count)
        return offer(agentID: agentID, generation: generation, redeliveries: redeliveries, slots: slots, now: now)
    }

    /// The poll's candidates were all refused by the store, or its agent's idle
    /// deadline passed: look again and wait on, unless superseded.
    func continueWaiting(agentID: String, generation: UInt64, now: Date) -> PollTicket {
        guard let session = agents[agentID], session.pollGeneration == generation, !isShuttingDown else {
            return PollTicket(generation: generation, handout: .finalEmpty)
        }
        return offer(agentID: agentID, generation: generation, redeliveries: [], slots: session.freeSlots, now: now)
    }

    /// Suspends the poll until it gets work, a control, a newer poll supersedes it,
    /// the deadline passes, or its task is cancelled (client gone).
    nonisolated func waitForHandout(waiterID: Int, agentID: String, deadline: ContinuousClock.Instant) async
        -> DispatchHandout
    {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Ends early when the handout arrives (cancelAll) or the request is cancelled.
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self.expire(waiterID: waiterID, agentID: agentID)
            }
            let handout = await self.suspend(waiterID)
            group.cancelAll()
            return handout
        }
    }

    /// The poll's answer is on its way: that also counts as a heartbeat.
    func answered(agentID: String, now: Date) {
        guard var session = agents[agentID] else { return }
        touch(&session, now)
        agents[agentID] = session
    }

    // MARK: Shutdown

    /// Answers every waiting poll empty and makes new polls answer at once, so the
    /// HTTP server can drain quickly.
    func beginShutdown() {
        isShuttingDown = true
        for id in waiters.waitingIDs { waiters.answer(id, with: .finalEmpty) }
        for id in agents.keys { agents[id]?.waiterID = nil }
    }

    // MARK: Helpers

    /// Answers a poll now (work, controls, or the decision that the agent leaves), or
    /// registers it as a waiter.
    private func offer(
        agentID: String, generation: UInt64, redeliveries: [TaskAssignment], slots: Int, now: Date
    ) -> PollTicket {
        guard let session = agents[agentID] else { return PollTicket(generation: generation, handout: .finalEmpty) }
        let holdsTasks = !(tasksByAgent[agentID]?.isEmpty ?? true)
        // Deciding here, in the actor, means no task can be handed to an agent that is told to leave.
        if !holdsTasks, redeliveries.isEmpty, let handout = leave(agentID, now: now) {
            return PollTicket(generation: generation, handout: handout)
        }
        var handout = DispatchHandout(redeliveries: redeliveries)
        let slots = min(slots, session.slotsForNewWork)
        while handout.candidates.count < slots, let entry = queue.popOldest(runnableBy: session.identity.route) {
            handout.candidates.append(entry)
        }
        handout.controls = takeControls(of: agentID)
        if !handout.isEmpty { return PollTicket(generation: generation, handout: handout) }
        let waiterID = waiters.register(agentID: agentID, route: session.identity.route, wantsTasks: slots > 0)
        agents[agentID]?.waiterID = waiterID
        return PollTicket(generation: generation, waiterID: waiterID, idleDeadline: holdsTasks ? nil : session.idleDeadline())
    }

    private func suspend(_ waiterID: Int) async -> DispatchHandout {
        await withCheckedContinuation { continuation in
            if let early = waiters.attach(waiterID, continuation) {
                continuation.resume(returning: early)
            }
        }
    }

    private func expire(waiterID: Int, agentID: String) {
        if waiters.answer(waiterID, with: .finalEmpty), agents[agentID]?.waiterID == waiterID {
            agents[agentID]?.waiterID = nil
        }
    }

    func answer(agentID: String, waiterID: Int, with handout: DispatchHandout) {
        waiters.answer(waiterID, with: handout)
        if agents[agentID]?.waiterID == waiterID { agents[agentID]?.waiterID = nil }
    }

    func takeControls(of agentID: String) -> [ControlMessage] {
        guard let controls = agents[agentID]?.pendingControls, !controls.isEmpty else { return [] }
        agents[agentID]?.pendingControls = []
        return controls
    }

    func touch(_ session: inout AgentSession, _ now: Date) {
        session.lastSeen = max(session.lastSeen, now)
        dirtyHeartbeats[session.identity.id] = session.lastSeen
    }

    func track(_ taskID: String, _ entry: ActiveEntry) {
        if let old = active[taskID] { tasksByAgent[old.agentID]?.remove(taskID) }
        var entry = entry
        activeEpoch += 1
        entry.epoch = activeEpoch
        active[taskID] = entry
        tasksByAgent[entry.agentID, default: []].insert(taskID)
    }
}
