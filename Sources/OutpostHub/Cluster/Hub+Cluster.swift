import Foundation
import Logging
import OutpostCore
import OutpostStore

/// What a replica tells the others, and what it does with what they tell it.
extension Hub {
    /// Tells the other replicas (nobody, on a hub alone).
    func publish(_ events: [ClusterEvent]) {
        guard isClustered, !events.isEmpty else { return }
        cluster.publish(events.map(\.line))
    }

    func publish(_ event: ClusterEvent) {
        publish([event])
    }

    /// A task changed here: wake this replica's watchers and tell the others.
    func taskChanged(_ taskID: String, _ change: TaskWatchers.Change = .status) {
        watchers.notify(taskID: taskID, change)
        publish(change == .log ? .logAppended(taskID: taskID) : .changed(taskID: taskID))
    }

    /// Applies events another replica published.
    func apply(_ events: [ClusterEvent]) async {
        var queued: [String] = []
        var ended: [String] = []
        for event in events {
            switch event {
            case .queued(let taskID):
                queued.append(taskID)
            case .claimed(let taskID):
                await dispatcher.claimedElsewhere(taskID)
                watchers.notify(taskID: taskID)
            case .ended(let taskID):
                ended.append(taskID)
            case .cancelRequested(let taskID):
                await dispatcher.cancelFromCluster(taskID: taskID)
                watchers.notify(taskID: taskID)
            case .logAppended(let taskID):
                watchers.notify(taskID: taskID, .log)
            case .changed(let taskID):
                watchers.notify(taskID: taskID)
            case .agentOffline(let agentID):
                _ = await dispatcher.retire(agentID: agentID)
                await dispatcher.finishRetiring(agentID: agentID)
            case .agentDrained(let agentID):
                await dispatcher.drain(agentID: agentID, now: now())
            case .secretListingRequested(let requestID):
                await relaySecretListingRequest(requestID)
            case .secretListingReady(let requestID):
                await collectSecretListing(requestID)
            }
        }
        if !ended.isEmpty { await forgetEnded(ended) }
        if !queued.isEmpty {
            do {
                await dispatcher.enqueueFromCluster(try await store.queuedTasks(ids: queued))
            } catch {
                // The next reconciliation finds them.
                logger.warning("could not load tasks another replica queued", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Tasks that ended on another replica (or that the store says ended): out of
    /// memory here, their watchers woken. Counted where they ended, not here.
    func forgetEnded(_ taskIDs: [String]) async {
        await dispatcher.tasksEnded(taskIDs, now: now())
        userTokens.forget(tasks: taskIDs)
        watchers.notify(taskIDs: taskIDs)
    }

    /// Makes this replica's queue and held tasks what the store says: what a lost
    /// event would have told, at most `ClusterTiming.reconcileInterval` late.
    func reconcileWithStore() async {
        let mark = await dispatcher.reconcileMark()
        do {
            let queued = try await store.queuedTasks()
            let active = try await store.activeTasks()
            let ended = await dispatcher.reconcile(queued: queued, active: active, since: mark, now: now())
            if !ended.isEmpty {
                userTokens.forget(tasks: ended)
                watchers.notify(taskIDs: ended)
            }
        } catch {
            logger.warning("could not reconcile with the store", metadata: ["error": "\(error)"])
        }
        await relayPendingSecretListings()
        if let agentCertificates, let types = try? await store.listAgentTypes() {
            agentCertificates.setRequiringTypes(types.filter(\.requireClientCertificate).map(\.name))
        }
    }
}
