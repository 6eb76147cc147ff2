@testable import OutpostAgent
import OutpostTestSupport

/// The test support's manual clock is the agent's monotonic clock.
extension ManualClock: AgentClock {
    package func now() -> Duration { elapsed }
}
