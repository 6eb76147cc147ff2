import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// A finish and the next task travel together: the agent's waiting poll takes over
/// the slot a finished task held, so the next queued task comes back on it at once.
@Suite("Finish hands the slot to the waiting poll")
struct PollTakesSlotTests {
    /// A hub with target `local` and an agent of one slot running a first task.
    private func withBusyAgent(
        pollTimeout: Duration = .seconds(25), _ body: @Sendable (TestHub, API, SimAgent, TaskRecord) async throws -> Void
    ) async throws {
        try await TestHub.with(configure: { $0.pollTimeout = pollTimeout }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let first = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.map(\.taskID) == [first.id])
                #expect(try await agent.start(api, first.id).status == .ok)
                try await body(hub, api, agent, first)
            }
        }
    }

    @Test("the finish of a task the waiting poll held frees its slot: the queued task comes back on that poll")
    func finishHandsOverSlot() async throws {
        try await withBusyAgent { hub, api, agent, first in
            // Busy: the poll offers no slot, so the next task stays queued.
            let started = ContinuousClock.now
            async let waiting = agent.poll(api, running: [first.id], freeSlots: 0)
            #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
            let second = try await hub.createTask(api, target: "local")
            #expect(try await hub.store.task(id: second.id)?.status == .queued)

            let finished = try await agent.finish(api, first.id)
            #expect(finished.status == .ok)
            #expect(finished.header(AgentProtocol.pollTookSlotHeader) == "true")
            let answer = try await waiting
            #expect(answer.assignments.map(\.taskID) == [second.id])
            #expect(ContinuousClock.now - started < .seconds(10), "handed out with the finish, not at the poll's end")
            #expect(try await hub.store.task(id: second.id)?.status == .assigned)
        }
    }

    @Test("with nothing queued the poll waits on with the slot and takes the next task as it is queued")
    func freedSlotWaitsForWork() async throws {
        try await withBusyAgent { hub, api, agent, first in
            async let waiting = agent.poll(api, running: [first.id], freeSlots: 0)
            #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
            let finished = try await agent.finish(api, first.id)
            #expect(finished.header(AgentProtocol.pollTookSlotHeader) == "true")
            let second = try await hub.createTask(api, target: "local")
            #expect(try await waiting.assignments.map(\.taskID) == [second.id])
        }
    }

    @Test("a finish the waiting poll did not count (no poll, or not listed) takes no slot over")
    func uncountedFinish() async throws {
        try await withBusyAgent(pollTimeout: .milliseconds(200)) { _, api, agent, first in
            // No poll is waiting: the agent must announce the slot itself.
            let finished = try await agent.finish(api, first.id)
            #expect(finished.status == .ok)
            #expect(finished.header(AgentProtocol.pollTookSlotHeader) == nil)
        }
    }
}
