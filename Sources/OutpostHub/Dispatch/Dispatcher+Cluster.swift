import Foundation
import OutpostCore
import OutpostStore

/// Keeping one replica's dispatcher in step with the others, through the store.
///
/// Several replicas each hold a dispatcher: the queue, the tasks agents hold and
/// the agents whose polls reach this replica. The store is the truth. Events from
/// other replicas (`ClusterEvent`) bring changes at once; `reconcile` brings the
/// same changes every second from the store itself, so a lost event delays work
/// but never loses it.
extension Dispatcher {
    /// Where this dispatcher stands before a store read: what it queues or tracks
    /// after this point is newer than the read, and a reconciliation keeps it.
    struct ReconcileMark: Sendable {
        var queue: UInt64
        var active: UInt64
    }

    func reconcileMark() -> ReconcileMark {
        ReconcileMark(queue: queue.mark, active: activeEpoch)
    }

    /// Tasks another replica queued: queue those not already queued or held here.
    func enqueueFromCluster(_ tasks: [QueuedTask]) {
        for task in tasks where active[task.id] == nil { enqueue(task) }
    }

    /// Another replica claimed the task: it leaves this queue.
    func claimedElsewhere(_ taskID: String) {
        queue.remove(taskID)
    }

    /// A cancel asked on another replica: if an agent polling here holds the task,
    /// tell it now. (A task this replica does not track yet gets the cancel from the
    /// next reconciliation, which reads the request from the store.)
    func cancelFromCluster(taskID: String) {
        guard active[taskID] != nil else { return }
        requestCancel(taskID)
    }

    /// Makes the queue and the held tasks what the store says, for everything this
    /// dispatcher knew before `mark`. Returns the tasks it learnt had ended.
    func reconcile(queued stored: [QueuedTask], active storedActive: [ActiveTask], since mark: ReconcileMark, now: Date)
        -> [String]
    {
        let storedQueued = Set(stored.map(\.id))
        for id in queue.ids(before: mark.queue) where !storedQueued.contains(id) {
            queue.remove(id)  // claimed or cancelled elsewhere
        }
        let storedByID = Dictionary(storedActive.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let ended = active.filter { id, entry in entry.epoch <= mark.active && storedByID[id] == nil }.map(\.key)
            .filter { !storedQueued.contains($0) }
        tasksEnded(ended, now: now)
        for task in storedActive {
            adoptActive(task)
        }
        enqueueFromCluster(stored.filter { !queue.contains($0.id) })
        return ended
    }

    /// Tracks a task the store says an agent holds, and passes on a cancel this
    /// replica has not told the agent about yet.
    func adoptActive(_ task: ActiveTask) {
        queue.remove(task.id)
        if var entry = active[task.id], entry.agentID == task.agentID {
            if task.status == .running, entry.status == .assigned {
                _ = entry.machine.apply(.start)
                entry.pendingAssignment = nil
                active[task.id] = entry
            }
            if task.cancelRequested { requestCancel(task.id) }
            return
        }
        let machine = TaskStateMachine(status: task.status)
        track(task.id, ActiveEntry(agentID: task.agentID, machine: machine, fromStore: true))
        agents[task.agentID]?.idleSince = nil
        if task.cancelRequested { requestCancel(task.id) }
    }
}
