import Synchronization

/// A value behind a lock that async code can wait on until a condition holds.
///
/// The one wake-up primitive of the agent: threads (the output reader, the
/// `waitid` watcher) and tasks update it; waiters are resumed only when their
/// own predicate becomes true, so nothing polls.
final class WatchedState<State: Sendable>: Sendable {
    private struct Waiter {
        let predicate: @Sendable (State) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct Storage {
        var value: State
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
    }

    private let storage: Mutex<Storage>

    init(_ initial: State) {
        storage = Mutex(Storage(value: initial))
    }

    /// The current value.
    var value: State { storage.withLock { $0.value } }

    /// Changes the value and wakes the waiters whose predicate now holds.
    @discardableResult
    func update<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        let (result, ready) = storage.withLock { storage -> (Result, [CheckedContinuation<Bool, Never>]) in
            let result = body(&storage.value)
            var ready: [CheckedContinuation<Bool, Never>] = []
            for (id, waiter) in storage.waiters where waiter.predicate(storage.value) {
                ready.append(waiter.continuation)
                storage.waiters[id] = nil
            }
            return (result, ready)
        }
        // Resume outside the lock: a resumed task may update the state at once.
        for continuation in ready { continuation.resume(returning: true) }
        return result
    }

    /// Suspends until `predicate` holds. Returns `true` then, or `false` if the
    /// calling task is cancelled first.
    func wait(until predicate: @escaping @Sendable (State) -> Bool) async -> Bool {
        let id = storage.withLock { storage in
            storage.nextID += 1
            return storage.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate: Bool? = storage.withLock { storage in
                    if predicate(storage.value) { return true }
                    // The cancellation flag is set before the handler runs, so checking it
                    // under the lock closes the race with a handler that found no waiter.
                    if Task.isCancelled { return false }
                    storage.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = storage.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(returning: false)
        }
    }

    /// Waits until `predicate` holds or `clock` reaches `deadline` (never, if `nil`).
    /// Returns whether the predicate held when the wait ended.
    func wait(
        until predicate: @escaping @Sendable (State) -> Bool,
        deadline: Duration?,
        clock: any AgentClock
    ) async -> Bool {
        guard let deadline else { return await wait(until: predicate) }
        if predicate(value) { return true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await self.wait(until: predicate) }
            group.addTask { try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
        return predicate(value)
    }
}
