package import Foundation

/// Wall-clock time as the hub sees it: task timestamps, heartbeats, the sweeper.
///
/// Injected so tests can move time forward instead of sleeping. Waiting (poll
/// deadlines, `?wait=`) uses the monotonic `ContinuousClock` instead.
package struct HubClock: Sendable {
    package var now: @Sendable () -> Date

    package init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    /// The system clock.
    package static let system = HubClock { Date() }
}
