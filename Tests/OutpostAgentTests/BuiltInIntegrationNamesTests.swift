import OutpostCore
import Testing

@testable import OutpostAgent

/// The hub's console offers `IntegrationNames.builtIn` when a target is created; it
/// cannot read the agent's catalogue, so this keeps the two lists the same.
@Suite struct BuiltInIntegrationNamesTests {
    @Test func theConsoleOffersExactlyTheAgentsBuiltInIntegrations() {
        #expect(IntegrationNames.builtIn == BuiltInIntegrations.all.map(\.name))
    }
}
