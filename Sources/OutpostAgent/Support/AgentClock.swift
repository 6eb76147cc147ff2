/// Monotonic time for the agent's timers, injectable so flush and retry
/// timing can be tested without real waiting. Instants are durations since an
/// arbitrary fixed origin, which keeps the protocol usable as an existential.
package protocol AgentClock: Sendable {
    /// Time elapsed since this clock's origin.
    func now() -> Duration
    /// Suspends until `now() >= deadline`.
    /// - Throws: `CancellationError` when the calling task is cancelled.
    func sleep(until deadline: Duration) async throws
}

extension AgentClock {
    /// Suspends for `duration`; throws `CancellationError` when cancelled.
    func sleep(for duration: Duration) async throws {
        try await sleep(until: now() + duration)
    }
}

/// The real clock: `ContinuousClock` (keeps counting while the machine sleeps).
/// Every instance shares one origin, so their readings are interchangeable.
package struct SystemAgentClock: AgentClock {
    private static let origin = ContinuousClock.now

    package init() {}

    package func now() -> Duration { Self.origin.duration(to: .now) }

    package func sleep(until deadline: Duration) async throws {
        try await ContinuousClock().sleep(until: Self.origin.advanced(by: deadline), tolerance: nil)
    }
}
