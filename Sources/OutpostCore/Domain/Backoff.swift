/// Exponential backoff with jitter for retrying hub calls (agent and CLI).
///
/// Attempt 1 waits about `initial`, each later attempt twice as long, capped at
/// `maximum`. The delay is drawn from the upper half of that value so agents that
/// lost the hub together do not come back in lock-step, yet never retry at once.
package struct Backoff: Sendable, Equatable {
    package var initial: Duration
    package var maximum: Duration

    package init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before retry number `attempt` (1-based); `unit` is a random number in `0..<1`.
    package func delay(attempt: Int, unit: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let base = min(initial * (1 << exponent), maximum)
        return base * (0.5 + 0.5 * min(max(unit, 0), 1))
    }

    /// The delay with a fresh random draw.
    package func delay(attempt: Int) -> Duration {
        delay(attempt: attempt, unit: Double.random(in: 0..<1))
    }
}
