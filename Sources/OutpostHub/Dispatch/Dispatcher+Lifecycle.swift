import Foundation
import Logging
import OutpostCore

/// Agents leaving on the hub's word: drained by an operator, done with their one
/// job, or idle too long. The decision is made inside the actor, in the same step
/// that would otherwise hand out work, so an agent is never given a task and told
/// to leave at once.
extension Dispatcher {
    /// An operator drains the agent: no new work; it leaves once its tasks are done.
    func drain(agentID: String, now: Date) {
        guard agents[agentID] != nil else { return }
        agents[agentID]?.drainRequested = true
        settleWaiter(of: agentID, now: now)
    }

    /// Re-evaluates a waiting poll after the agent's situation changed: tells it to
    /// leave when due, or answers it empty so its next poll waits under the new rules.
    func settleWaiter(of agentID: String, now: Date) {
        guard let session = agents[agentID], let waiterID = session.waiterID else { return }
        let holdsTasks = !(tasksByAgent[agentID]?.isEmpty ?? true)
        if !holdsTasks, let handout = leave(agentID, now: now) {
            answer(agentID: agentID, waiterID: waiterID, with: handout)
        } else if session.isWindingDown, waiters.wantsTasks(waiterID) {
            answer(agentID: agentID, waiterID: waiterID, with: .finalEmpty)
        }
    }

    /// When the agent (holding no task) should leave: marks it leaving and returns the
    /// handout telling it to disconnect, with the reason.
    func leave(_ agentID: String, now: Date) -> DispatchHandout? {
        guard let session = agents[agentID], let reason = session.leaveReason(now: now) else { return nil }
        if session.disconnectReason == nil {
            agents[agentID]?.disconnectReason = reason
            logger.info("telling agent to disconnect", metadata: ["agent": "\(session.identity.name)", "reason": "\(reason)"])
        }
        var handout = DispatchHandout(controls: takeControls(of: agentID) + [.disconnect(reason: reason)])
        handout.isFinal = true
        return handout
    }
}
