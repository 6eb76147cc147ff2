import Foundation
import Logging
import OutpostCore
import OutpostStore
import ServiceLifecycle
import Synchronization

/// Takes silent agents offline (their tasks become `lost`), times out overdue
/// tasks, writes heartbeats to the store in batches, and deletes agents that have
/// been offline for longer than the retention period.
struct Sweeper: Service {
    let hub: Hub
    private let lastPrune = PruneSchedule()
    /// Until when silence is not blamed on agents: the hub itself did not run.
    private let excused = SilenceExcuse()

    /// How often offline agents are looked for: far more often than a retention
    /// period of hours needs, far less than every sweep.
    static let pruneInterval: TimeInterval = 60

    init(hub: Hub) {
        self.hub = hub
    }

    /// Sweeps every `effectiveSweepInterval` until graceful shutdown, then writes the
    /// last heartbeats and returns. Cancellation ends it the same way.
    func run() async throws {
        let interval = hub.configuration.effectiveSweepInterval
        var lastSweep = hub.now()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            let now = hub.now()
            // Woken far too late, the hub itself was not running (SIGSTOP, a frozen VM):
            // no agent could reach it, so that time is not their silence. Found by the chaos test.
            let lateness = now.timeIntervalSince(lastSweep) - interval.seconds
            if lateness > interval.seconds {
                hub.logger.notice(
                    "the hub did not run for a while; agents are not blamed for that silence",
                    metadata: ["seconds": "\(Int(lateness.rounded()))"])
                await hub.dispatcher.excuseSilence(seconds: lateness, now: now)
                excused.excuse(until: now.addingTimeInterval(hub.configuration.heartbeatTimeout.seconds))
            }
            await sweep(now: now)
            lastSweep = hub.now()
        }
        await hub.flushHeartbeats()
    }

    /// One pass, at `now` (tests call it directly with a moved clock). Every replica
    /// writes its heartbeats; only the leader takes agents offline, times tasks out
    /// and deletes old rows, so two replicas never race to do it.
    func sweep(now: Date) async {
        await hub.flushHeartbeats()
        guard hub.isLeader else { return }
        let cutoff = now.addingTimeInterval(-hub.configuration.heartbeatTimeout.seconds)
        if hub.isClustered {
            await retireAgentsSilentInStore(cutoff: cutoff, now: now)
        } else {
            await retireSilentAgents(cutoff: cutoff)
        }
        do {
            let overdue = try await hub.store.timeOutOverdueTasks(
                now: now, grace: hub.configuration.timeoutGrace.seconds)
            for task in overdue {
                hub.logger.info("task timed out on the hub", metadata: ["task": "\(task.id)"])
            }
            await hub.tasksEnded(overdue)
        } catch {
            hub.logger.error("could not time out overdue tasks", metadata: ["error": "\(error)"])
        }
        await pruneOfflineAgents(now: now)
    }

    /// A hub alone: the agents whose polls stopped reaching it, by its own memory.
    private func retireSilentAgents(cutoff: Date) async {
        for agent in await hub.dispatcher.retireSilentAgents(cutoff: cutoff) {
            let reason = "agent \(agent.name) stopped sending heartbeats"
            hub.logger.warning("agent offline: no heartbeat", metadata: ["agent": "\(agent.name)"])
            do {
                try await hub.takeAgentOffline(agentID: agent.id, reason: reason)
            } catch {
                hub.logger.error(
                    "could not mark a silent agent offline", metadata: ["agent": "\(agent.name)", "error": "\(error)"])
            }
        }
    }

    /// Several replicas: an agent may poll any of them, so silence is judged by the
    /// last-seen times every replica writes to the store (`Hub.flushHeartbeats`),
    /// never by this replica's memory. Not right after this replica itself stood
    /// still: the others' writes are fine, but its own agents' are late.
    private func retireAgentsSilentInStore(cutoff: Date, now: Date) async {
        if excused.covers(now) { return }
        let silent: [AgentRecord]
        do {
            silent = try await hub.store.agentsSilentSince(cutoff)
        } catch {
            hub.logger.error("could not look for silent agents", metadata: ["error": "\(error)"])
            return
        }
        for agent in silent {
            hub.logger.warning("agent offline: no heartbeat reached any replica", metadata: ["agent": "\(agent.name)"])
            do {
                try await hub.takeAgentOffline(agentID: agent.id, reason: "agent \(agent.name) stopped sending heartbeats")
            } catch {
                hub.logger.error(
                    "could not mark a silent agent offline", metadata: ["agent": "\(agent.name)", "error": "\(error)"])
            }
        }
    }

    /// Tasks one retention batch deletes (one transaction), and batches per sweep:
    /// a first run over a long history works through it a few thousand rows a
    /// minute instead of in one transaction that holds locks for minutes.
    static let retentionBatch = 1_000
    static let retentionBatchesPerPrune = 10

    /// Deletes agents offline for longer than `offlineAgentRetention`, finished tasks
    /// older than `retention` (with their logs), relayed requests nobody waits for
    /// any more and expired console sessions, at most once per `pruneInterval`. Offline agents vanish from
    /// `outpost agents` and from the offline gauge.
    func pruneOfflineAgents(now: Date) async {
        guard lastPrune.isDue(now: now, interval: Self.pruneInterval) else { return }
        await deleteExpiredTasks(now: now)
        _ = try? await hub.store.deleteRelayRequests(
            createdBefore: now.addingTimeInterval(-2 * hub.configuration.relayTimeout.seconds))
        do {
            _ = try await hub.store.deleteConsoleSessions(expiredBefore: now)
        } catch {
            hub.logger.error("could not delete expired console sessions", metadata: ["error": "\(error)"])
        }
        let cutoff = now.addingTimeInterval(-hub.configuration.offlineAgentRetention.seconds)
        do {
            let names = try await hub.store.deleteOfflineAgents(lastSeenBefore: cutoff, now: now)
            if !names.isEmpty {
                hub.logger.info(
                    "deleted agents offline for longer than the retention period",
                    metadata: ["count": "\(names.count)", "retention_seconds": "\(Int(hub.configuration.offlineAgentRetention.seconds))"])
            }
        } catch {
            hub.logger.error("could not delete long-offline agents", metadata: ["error": "\(error)"])
        }
    }
}

extension Sweeper {
    /// Retention: finished tasks older than `retention` leave the database, in batches.
    func deleteExpiredTasks(now: Date) async {
        let cutoff = now.addingTimeInterval(-hub.configuration.retention.seconds)
        var deleted = 0
        for _ in 0..<Self.retentionBatchesPerPrune {
            do {
                let batch = try await hub.store.deleteFinishedTasks(finishedBefore: cutoff, limit: Self.retentionBatch)
                deleted += batch
                if batch < Self.retentionBatch { break }
            } catch {
                hub.logger.error("could not delete expired tasks", metadata: ["error": "\(error)"])
                break
            }
        }
        if deleted > 0 {
            hub.logger.info(
                "deleted finished tasks older than the retention period, with their logs",
                metadata: ["count": "\(deleted)", "retention_days": "\(Int(hub.configuration.retention.seconds / 86_400))"])
        }
    }
}

/// When the sweeper last pruned offline agents.
final class PruneSchedule: Sendable {
    private let last = Mutex<Date?>(nil)

    /// `true` (and records `now`) when no prune ran within `interval` before `now`.
    func isDue(now: Date, interval: TimeInterval) -> Bool {
        last.withLock { last in
            if let previous = last, now >= previous, now.timeIntervalSince(previous) < interval { return false }
            last = now
            return true
        }
    }
}

/// Until when the sweeper does not blame agents for silence (the hub stood still).
final class SilenceExcuse: Sendable {
    private let until = Mutex<Date?>(nil)

    func excuse(until date: Date) {
        until.withLock { $0 = date }
    }

    func covers(_ now: Date) -> Bool {
        until.withLock { until in until.map { now < $0 } ?? false }
    }
}
