package import Foundation
import Synchronization

/// Time that moves only when a test says so — the one manual clock for both clocks
/// Outpost injects: the hub's wall clock (`date`) and the agent's monotonic clock
/// (`elapsed`, `sleep(until:)`). Tests wait for the code under test to be asleep
/// (`waitForSleepers`) instead of sleeping themselves.
///
/// Each test target adapts it to its module's clock type in one line (the agent's
/// `AgentClock`, the hub's `HubClock`), since this module depends on neither.
package final class ManualClock: Sendable {
    private struct Sleeper {
        let deadline: Duration
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct SleeperWaiter {
        let count: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var elapsed: Duration = .zero
        var sleepers: [Int: Sleeper] = [:]
        var waiters: [SleeperWaiter] = []
        var nextID = 0

        /// Takes the waiters whose sleeper count is reached.
        mutating func satisfiedWaiters() -> [CheckedContinuation<Void, Never>] {
            let count = sleepers.count
            let ready = waiters.filter { $0.count <= count }
            waiters.removeAll { $0.count <= count }
            return ready.map(\.continuation)
        }
    }

    private let start: Date
    private let state = Mutex(State())

    /// A clock whose wall time starts at `start` and whose monotonic time starts at zero.
    package init(_ start: Date = Date(timeIntervalSince1970: 1_750_000_000)) {
        self.start = start
    }

    /// Monotonic time since the clock was made.
    package var elapsed: Duration { state.withLock { $0.elapsed } }

    /// Wall-clock time: the start plus what has elapsed.
    package var date: Date {
        let parts = elapsed.components
        return start.addingTimeInterval(Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
    }

    /// Suspends until `elapsed >= deadline`.
    /// - Throws: `CancellationError` when the calling task is cancelled.
    package func sleep(until deadline: Duration) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (immediate, woken) = state.withLock { state -> (Result<Void, any Error>?, [CheckedContinuation<Void, Never>]) in
                    if deadline <= state.elapsed { return (.success(()), []) }
                    if Task.isCancelled { return (.failure(CancellationError()), []) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return (nil, state.satisfiedWaiters())
                }
                if let immediate { continuation.resume(with: immediate) }
                for waiter in woken { waiter.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    package func advance(by duration: Duration) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.elapsed += duration
            let now = state.elapsed
            let ready = state.sleepers.filter { $0.value.deadline <= now }
            for id in ready.keys { state.sleepers[id] = nil }
            return ready.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    /// Moves time forward by `seconds` (the hub's tests count in seconds).
    package func advance(by seconds: TimeInterval) {
        advance(by: .seconds(seconds))
    }

    /// The earliest deadline anyone sleeps until.
    package var nextDeadline: Duration? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    /// Suspends until at least `count` sleepers wait.
    package func waitForSleepers(_ count: Int = 1) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.sleepers.count >= count { return true }
                state.waiters.append(SleeperWaiter(count: count, continuation: continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
