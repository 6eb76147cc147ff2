import Foundation
import HTTPTypes
import OutpostCore
import OutpostTestSupport
import Testing

@testable import OutpostHub

@Suite("Sweeper after the hub itself stopped")
struct SweeperPauseTests {
    @Test("a sweeper that wakes long after its interval does not blame agents for the time the hub did not run")
    func pausedHubExcusesSilence() async throws {
        // Heartbeat 4 s: the sweeper wakes every second.
        let hub = try await TestHub.start {
            $0.heartbeatTimeout = .seconds(4)
            $0.pollTimeout = .milliseconds(100)
        }
        try await hub.withAPI { api in
            let registration = try await hub.registrationToken()
            let doomed = try await SimAgent.register(api, registrationToken: registration, name: "doomed-agent")
            let patient = try await SimAgent.register(api, registrationToken: registration, name: "patient-agent")
            hub.clock.advance(by: 5)
            #expect(try await patient.poll(api).isEmpty)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Sweeper(hub: hub.hub).run() }
                // The running sweeper's first pass retires the agent that really went silent.
                #expect(await eventually { await hub.hub.dispatcher.snapshot().agents[doomed.id] == nil })

                // Then the hub stops for a minute: its clock moves on while the sweeper sleeps.
                hub.clock.advance(by: 60)
                // The next pass sees it woke a minute late and moves the patient agent's
                // last sign of life past the pause instead of retiring it.
                let excused = await eventually {
                    let lastSeen = await hub.hub.dispatcher.snapshot().agents[patient.id]?.lastSeen
                    return lastSeen.map { $0 >= hub.clock.date.addingTimeInterval(-2) } ?? false
                }
                group.cancelAll()
                let held = await hub.hub.dispatcher.snapshot().agents[patient.id] != nil
                #expect(excused, "the patient agent was \(held ? "not excused" : "retired")")
            }
            let online = try await api.send(.get, "/api/v1/agents").decode(ListResponse<AgentRecord>.self)
            #expect(online.items.map(\.name) == ["patient-agent"])
            #expect(try await patient.poll(api).isEmpty)

            // Silence after the pause still counts.
            hub.clock.advance(by: 5)
            await Sweeper(hub: hub.hub).sweep(now: hub.clock.date)
            let after = try await api.send(.get, "/api/v1/agents").decode(ListResponse<AgentRecord>.self)
            #expect(after.items.isEmpty)
        }
        await hub.stop()
    }
}
