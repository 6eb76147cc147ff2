import Foundation
import Logging
import OutpostCore
import OutpostStore

/// The agent's long poll: heartbeat, work, control messages.
extension Hub {
    /// Answers a poll at once when there is work or a control message, otherwise
    /// when one arrives, a newer poll of the same agent supersedes it, or the
    /// effective poll timeout passes (then empty).
    func poll(agent: AgentIdentity, request: PollRequest) async throws -> PollResponse {
        try InputValidation.validate(poll: request)
        var request = request
        request.running = try await withoutLateTasks(request.running, agent: agent)
        try await restoreUndeliveredAssignments(agent: agent, running: request.running)
        let deadline = ContinuousClock.now + configuration.effectivePollTimeout
        guard var ticket = await dispatcher.arrive(agentID: agent.id, request: request, now: now()) else {
            throw Authenticator.agentOffline
        }
        while true {
            let handout: DispatchHandout
            if let immediate = ticket.handout {
                handout = immediate
            } else if let waiterID = ticket.waiterID {
                var waitUntil = deadline
                if let idle = ticket.idleDeadline {
                    // Wake when the idle timeout runs out, to tell the agent to leave.
                    let remaining = max(0, idle.timeIntervalSince(now()))
                    waitUntil = min(deadline, .now + .milliseconds(Int64(remaining * 1000) + 1))
                }
                handout = await dispatcher.waitForHandout(waiterID: waiterID, agentID: agent.id, deadline: waitUntil)
                if handout == .finalEmpty, waitUntil < deadline, ContinuousClock.now < deadline, !Task.isCancelled {
                    ticket = await dispatcher.continueWaiting(
                        agentID: agent.id, generation: ticket.generation, now: now())
                    continue
                }
            } else {
                handout = .finalEmpty
            }
            let claimed = try await claim(handout.candidates, for: agent)
            let response = PollResponse(assignments: handout.redeliveries + claimed, controls: handout.controls)
            // Cancelled: the agent asked for this answer now (a channel `cancel`) or is gone.
            if !response.isEmpty || handout.isFinal || ContinuousClock.now >= deadline || Task.isCancelled {
                await dispatcher.answered(agentID: agent.id, now: now())
                return response
            }
            // Every task handed to this poll was cancelled or taken meanwhile: wait on.
            ticket = await dispatcher.continueWaiting(agentID: agent.id, generation: ticket.generation, now: now())
        }
    }

    /// Most unknown running ids one poll looks up in the store (the rest are abandoned
    /// unseen), so a poll listing many made-up ids costs a bounded number of reads.
    static let maxLateChecksPerPoll = 16

    /// Looks up in the store the tasks the agent runs that this dispatcher does not
    /// hold for it, before the dispatcher would tell it to abandon them:
    /// - a task the hub marked `lost` while this agent, under the same name, was
    ///   stopped or cut off is dropped from `running`: it may finish it and deliver a
    ///   late result (the store checks name and type again when it does);
    /// - a task the store says this agent holds is adopted: the agent came over from
    ///   another replica (which died, or a load balancer moved it), or this replica
    ///   has not reconciled since another one gave it the task.
    private func withoutLateTasks(_ running: [String], agent: AgentIdentity) async throws -> [String] {
        guard !running.isEmpty else { return running }
        let unknown = await dispatcher.tasksNotHeld(by: agent.id, among: running)
        guard !unknown.isEmpty else { return running }
        var late = Set<String>()
        for id in unknown.prefix(Self.maxLateChecksPerPoll) {
            guard let task = try await store.task(id: id), task.agent == agent.name else { continue }
            if task.status == .lost, task.lateStatus == nil {
                late.insert(id)
            } else if task.status == .assigned || task.status == .running {
                await dispatcher.adoptActive(
                    ActiveTask(id: id, agentID: agent.id, status: task.status, cancelRequested: task.cancelRequested))
            }
        }
        return late.isEmpty ? running : running.filter { !late.contains($0) }
    }

    /// Tasks assigned to this agent whose assignment this replica never had (the
    /// replica that claimed them died before answering, or this one restarted) and
    /// that the agent does not run: their assignment comes from the store, so the
    /// poll sends it again instead of leaving the task assigned until it times out.
    private func restoreUndeliveredAssignments(agent: AgentIdentity, running: [String]) async throws {
        let missing = await dispatcher.assignedWithoutAssignment(agentID: agent.id, running: running)
        for id in missing.prefix(Self.maxLateChecksPerPoll) {
            guard var assignment = try await store.pendingAssignment(taskID: id, agentID: agent.id) else { continue }
            assignment.userToken = await userToken(forTask: id)
            await dispatcher.restoreAssignment(assignment, agentID: agent.id)
        }
    }

    /// Claims the handed-out tasks on the store, which decides atomically. Tasks it
    /// refuses (cancelled meanwhile) are skipped, and so are tasks its routing check
    /// refuses (they stay queued); on a store failure the unclaimed rest goes back
    /// to the queue.
    private func claim(_ entries: [TaskQueue.Entry], for agent: AgentIdentity) async throws -> [TaskAssignment] {
        var claimed: [TaskAssignment] = []
        for (index, entry) in entries.enumerated() {
            do {
                guard
                    var assignment = try await store.claimTask(
                        id: entry.task.id, agentID: agent.id, agentName: agent.name, at: now())
                else { continue }
                assignment.userToken = await userToken(forTask: entry.task.id)
                await dispatcher.recordClaim(taskID: entry.task.id, agentID: agent.id, assignment: assignment)
                metrics.observeDispatch(of: entry.task, claimedAt: now())
                watchers.notify(taskID: entry.task.id)
                publish(.claimed(taskID: entry.task.id))
                claimed.append(assignment)
            } catch let error where error.code == .forbidden {
                // The store's routing check disagrees with the dispatcher's (a bug, never
                // a client's doing): this agent does not get the task, which stays queued.
                logger.error(
                    "the store refused a claim the dispatcher offered; the task stays queued",
                    metadata: ["task": "\(entry.task.id)", "agent": "\(agent.name)", "error": "\(error)"])
                await dispatcher.putBack([entry])
            } catch {
                await dispatcher.putBack(Array(entries[index...]))
                guard !claimed.isEmpty else { throw error }
                logger.warning("claiming a task failed; it stays queued", metadata: ["error": "\(error)"])
                return claimed
            }
        }
        return claimed
    }
}
