import OutpostCore
import OutpostStore

/// Follows one task's stored log as it grows, for every live reader of it (the API's
/// `?follow=true`, the console's event stream): reads what is new, else sleeps until
/// the watchers say the log or the status changed, and says when the task is over.
///
/// A terminal status seen once is confirmed by one more read, so bytes stored just
/// before the status changed are still delivered. The wait's deadline is only a
/// safety net (and the caller's chance to send a keep-alive), never the way news
/// arrives.
struct TaskLogFollower {
    enum Step {
        /// New bytes from `offset`.
        case bytes(LogSlice)
        /// Nothing new after waiting until the deadline (or a wake-up without news).
        case idle(LogSlice)
        /// The task is terminal and every stored byte was read (or the hub stops, or the reader went away).
        case ended(LogSlice)
    }

    let hub: Hub
    let taskID: String
    let subscription: TaskWatchers.Subscription
    /// Where the next read starts; a reader that uses only part of a slice moves it back.
    var offset: Int64
    private var sawTerminal = false
    private var waited = false

    init(hub: Hub, taskID: String, subscription: TaskWatchers.Subscription, from offset: Int64) {
        self.hub = hub
        self.taskID = taskID
        self.subscription = subscription
        self.offset = offset
    }

    /// The next step; `wait` is how long to sleep when there is nothing new.
    mutating func next(wait: Duration, minimumBytes: Int = 1) async throws -> Step {
        while true {
            let slice = try await hub.store.readLog(taskID: taskID, offset: offset, limit: RouteTable.logReadChunk)
            if slice.bytes.count >= minimumBytes || (!slice.bytes.isEmpty && slice.status.isTerminal) {
                offset = slice.nextOffset
                waited = false
                return .bytes(slice)
            }
            if slice.status.isTerminal {
                if sawTerminal { return .ended(slice) }
                sawTerminal = true
                continue
            }
            if hub.isShuttingDown || Task.isCancelled { return .ended(slice) }
            if waited {
                waited = false
                return .idle(slice)
            }
            await hub.watchers.wait(subscription, until: .now + wait)
            waited = true
        }
    }
}
