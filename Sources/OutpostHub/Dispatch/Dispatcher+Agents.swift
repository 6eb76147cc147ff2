import Foundation
import OutpostCore
import OutpostStore

/// Agent sessions: token cache, registration, retirement, heartbeats.
extension Dispatcher {
    /// Finds the agent behind a token hash without touching the store.
    func agent(forTokenHash hash: String) -> AgentLookup {
        guard let id = agentByTokenHash[hash], let session = agents[id] else { return .unknown }
        // The dictionary lookup found it; compare the full hash in constant time as well.
        guard let stored = session.tokenHash, TokenHasher.constantTimeEquals(stored, hash) else { return .unknown }
        return .known(session.identity)
    }

    /// Caches an agent the store knows (first call after a hub restart).
    /// Returns `nil` when it is being taken offline.
    func adopt(_ record: AgentRecord, tokenHash: String, now: Date) -> AgentIdentity? {
        guard !retiring.contains(record.id), record.status != .offline else { return nil }
        if agents[record.id] == nil {
            agents[record.id] = AgentSession(record: record, tokenHash: tokenHash, lastSeen: now)
        }
        agents[record.id]?.tokenHash = tokenHash
        agentByTokenHash[tokenHash] = record.id
        return agents[record.id]?.identity
    }

    /// A new agent registered.
    func register(_ record: AgentRecord, tokenHash: String, now: Date) {
        agents[record.id] = AgentSession(record: record, tokenHash: tokenHash, lastSeen: now)
        agentByTokenHash[tokenHash] = record.id
        dirtyHeartbeats[record.id] = now
    }

    /// Takes an agent out of memory before the store marks it offline: its polls
    /// end, its token stops resolving. Returns `nil` when it was not online here.
    func retire(agentID: String) -> AgentIdentity? {
        guard let session = agents.removeValue(forKey: agentID) else { return nil }
        retiring.insert(agentID)
        if let hash = session.tokenHash { agentByTokenHash[hash] = nil }
        if let waiterID = session.waiterID { waiters.answer(waiterID, with: .finalEmpty) }
        dirtyHeartbeats[agentID] = nil
        return session.identity
    }

    /// Agents whose last sign of life is older than `cutoff`, retired.
    func retireSilentAgents(cutoff: Date) -> [AgentIdentity] {
        let silent = agents.values.filter { $0.lastSeen < cutoff && $0.waiterID == nil }.map(\.identity.id)
        return silent.compactMap { retire(agentID: $0) }
    }

    /// The hub itself did not run for `seconds`: that time does not count towards
    /// any agent's silence (never moving a last sign of life past `now`).
    func excuseSilence(seconds: TimeInterval, now: Date) {
        for (id, session) in agents {
            agents[id]?.lastSeen = min(now, session.lastSeen.addingTimeInterval(seconds))
        }
    }

    /// The store has marked the agent offline.
    func finishRetiring(agentID: String) {
        retiring.remove(agentID)
    }

    /// Last-seen times to write to the store; cleared here.
    func takeHeartbeats() -> [String: Date] {
        defer { dirtyHeartbeats = [:] }
        return dirtyHeartbeats
    }

    /// Last-seen times to write to the shared store of several replicas, where the
    /// leader judges silence by them: every agent whose poll waits here counts as
    /// seen `now`, and an agent's time is written only when the stored one is
    /// `interval` old, so 10,000 agents cost at most one transaction per replica per
    /// flush (`recordHeartbeats`: one UPDATE statement per 500 due agents in it) and
    /// about 10,000 / `interval` row updates per second, not one per poll.
    func takeCoarseHeartbeats(now: Date, interval: TimeInterval) -> [String: Date] {
        for (id, session) in agents where session.waiterID != nil {
            agents[id]?.lastSeen = max(session.lastSeen, now)
            dirtyHeartbeats[id] = agents[id]?.lastSeen
        }
        var due: [String: Date] = [:]
        for (id, seen) in dirtyHeartbeats {
            guard let session = agents[id] else { continue }
            if let written = session.lastWritten, seen.timeIntervalSince(written) < interval { continue }
            due[id] = seen
            agents[id]?.lastWritten = seen
        }
        for id in due.keys { dirtyHeartbeats[id] = nil }
        return due
    }

    /// Heartbeats that could not be written go back for the next flush (newer ones win).
    func restoreHeartbeats(_ beats: [String: Date]) {
        for (id, date) in beats where agents[id] != nil {
            dirtyHeartbeats[id] = max(dirtyHeartbeats[id] ?? date, date)
        }
    }

    func snapshot() -> DispatcherSnapshot {
        var byStatus: [TaskStatus: Int] = [:]
        for entry in active.values { byStatus[entry.status, default: 0] += 1 }
        var live: [String: DispatcherSnapshot.LiveAgent] = [:]
        for (id, session) in agents {
            live[id] = .init(
                status: session.status, lastSeen: session.lastSeen, activeTasks: tasksByAgent[id]?.count ?? 0)
        }
        return DispatcherSnapshot(
            queuedTasks: queue.count, waitingPolls: waiters.waitingCount, activeTasksByStatus: byStatus, agents: live)
    }
}
