@testable import OutpostAgent
import Synchronization

/// A clock that moves only when the test says so. Tests wait for the code
/// under test to be asleep (`waitForSleepers`) instead of sleeping themselves.
final class ManualClock: AgentClock {
    private struct Sleeper {
        let deadline: Duration
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Duration = .zero
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())
    /// How many sleepers are waiting; tests wait on it.
    let sleeping = WatchedState(0)

    func now() -> Duration { state.withLock { $0.now } }

    func sleep(until deadline: Duration) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result: Result<Void, any Error>? = state.withLock { state in
                    if deadline <= state.now { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let result {
                    continuation.resume(with: result)
                } else {
                    sleeping.update { $0 += 1 }
                }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            if let sleeper {
                sleeping.update { $0 -= 1 }
                sleeper.continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now += duration
            let now = state.now
            let ready = state.sleepers.filter { $0.value.deadline <= now }
            for id in ready.keys { state.sleepers[id] = nil }
            return ready.values.map(\.continuation)
        }
        if !due.isEmpty { sleeping.update { $0 -= due.count } }
        for continuation in due { continuation.resume() }
    }

    /// The earliest deadline anyone sleeps until.
    var nextDeadline: Duration? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    /// Suspends until at least `count` sleepers wait.
    func waitForSleepers(_ count: Int = 1) async {
        _ = await sleeping.wait(until: { $0 >= count })
    }
}
