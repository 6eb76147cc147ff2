import Foundation
import HTTPTypes
import HummingbirdTesting
import OutpostCore
import OutpostTestSupport
import OutpostStore
import Testing

@testable import OutpostHub

@Suite("Sweeper")
struct SweeperTests {
    @Test("an agent silent past the heartbeat timeout goes offline and its tasks become lost")
    func silentAgentGoesOffline() async throws {
        try await TestHub.with(configure: {
            $0.heartbeatTimeout = .seconds(60)
            $0.pollTimeout = .milliseconds(100)
        }) { hub in
            let sweeper = Sweeper(hub: hub.hub)
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                let silent = try await SimAgent.register(api, registrationToken: registration, name: "silent-agent")
                let lively = try await SimAgent.register(api, registrationToken: registration, name: "lively-agent")
                let task = try await hub.createTask(api, target: "local")
                #expect(try await silent.poll(api).assignments.map(\.taskID) == [task.id])
                #expect(try await silent.start(api, task.id).status == .ok)

                // Not yet: 59 s of silence.
                hub.clock.advance(by: 59)
                #expect(try await lively.poll(api).isEmpty)
                await sweeper.sweep(now: hub.clock.date)
                #expect(try await hub.store.task(id: task.id)?.status == .running)

                hub.clock.advance(by: 2)
                async let wait = api.send(.get, "/api/v1/tasks/\(task.id)?wait=30")
                #expect(await eventually { hub.hub.watchers.subscriptionCount == 1 })
                await sweeper.sweep(now: hub.clock.date)

                let lost = try await wait.decode(TaskRecord.self)
                #expect(lost.status == .lost)
                #expect(lost.error?.contains("agent silent-agent stopped sending heartbeats") == true)

                let agents = try await api.send(.get, "/api/v1/agents?all=true").decode(ListResponse<AgentRecord>.self)
                #expect(agents.items.first { $0.name == "silent-agent" }?.status == .offline)
                #expect(agents.items.first { $0.name == "lively-agent" }?.status == .online)
                let online = try await api.send(.get, "/api/v1/agents").decode(ListResponse<AgentRecord>.self)
                #expect(online.items.map(\.name) == ["lively-agent"])

                // Its token now says "offline", so the agent registers again.
                let poll = try await api.send(
                    .post, "/api/v1/agent/poll", token: .bearer(silent.token), json: ["free_slots": 1])
                #expect(poll.status == .unauthorized)
                #expect(poll.error?.code == "agent_offline")
                let again = try await SimAgent.register(api, registrationToken: registration, name: "silent-agent")
                #expect(again.name == "silent-agent")
            }
        }
    }

    @Test("heartbeats are written to the store in batches by the sweeper")
    func heartbeatsFlushed() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                hub.clock.advance(by: 30)
                _ = try await agent.poll(api)
                await Sweeper(hub: hub.hub).sweep(now: hub.clock.date)
                let stored = try await hub.store.agent(id: agent.id)
                #expect(stored?.lastSeenAt == hub.clock.date)
            }
        }
    }

    @Test("a task running past its timeout plus grace is timed out, and its agent told to abandon it")
    func overdueTaskTimesOut() async throws {
        try await TestHub.with(configure: {
            $0.timeoutGrace = .seconds(30)
            $0.pollTimeout = .milliseconds(100)
            $0.heartbeatTimeout = .seconds(3600)
        }) { hub in
            let sweeper = Sweeper(hub: hub.hub)
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let task = try await hub.createTask(api, target: "local", timeout: 10)
                #expect(try await agent.poll(api).assignments.first?.timeoutSeconds == 10)
                #expect(try await agent.start(api, task.id).status == .ok)

                hub.clock.advance(by: 35)
                await sweeper.sweep(now: hub.clock.date)
                #expect(try await hub.store.task(id: task.id)?.status == .running)

                hub.clock.advance(by: 10)
                await sweeper.sweep(now: hub.clock.date)
                #expect(try await hub.store.task(id: task.id)?.status == .timedOut)

                let answer = try await agent.poll(api, running: [task.id], freeSlots: 0)
                #expect(answer.controls == [ControlMessage(kind: .abandon, taskID: task.id)])
                let late = try await agent.appendLog(api, task.id, offset: 0, "late")
                #expect(late.status == .conflict)
                #expect(late.error?.code == "task_finished")
            }
        }
    }

    @Test("a deregistered agent's tasks become lost and its token stops working")
    func deregister() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(100) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.count == 1)
                let reply = try await api.send(.post, "/api/v1/agent/deregister", token: .bearer(agent.token))
                #expect(reply.status == .noContent)
                #expect(try await hub.store.task(id: task.id)?.status == .lost)
                let poll = try await api.send(
                    .post, "/api/v1/agent/poll", token: .bearer(agent.token), json: ["free_slots": 1])
                #expect(poll.error?.code == "agent_offline")
            }
        }
    }
}
