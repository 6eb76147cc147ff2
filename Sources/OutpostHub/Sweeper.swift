import Foundation
import Logging
import OutpostCore
import OutpostStore
import ServiceLifecycle

/// Takes silent agents offline (their tasks become `lost`), times out overdue
/// tasks, and writes heartbeats to the store in batches.
struct Sweeper: Service {
    let hub: Hub

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
            }
            await sweep(now: now)
            lastSweep = hub.now()
        }
        await hub.flushHeartbeats()
    }

    /// One pass, at `now` (tests call it directly with a moved clock).
    func sweep(now: Date) async {
        await hub.flushHeartbeats()
        let cutoff = now.addingTimeInterval(-hub.configuration.heartbeatTimeout.seconds)
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
    }
}
