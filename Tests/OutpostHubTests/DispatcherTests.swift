import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import OutpostCore
import OutpostTestSupport
import OutpostStore
import Testing

@testable import OutpostHub

@Suite("Dispatcher")
struct DispatcherTests {
    @Test(
        "a task goes only to an agent that may run it",
        arguments: [
            ([String](), [String](), true),
            ([], ["prod"], false),
            (["prod"], [], false),
            (["prod"], ["prod", "eu"], true),
            (["prod", "eu"], ["prod"], false),
        ])
    func routing(targetTags: [String], agentTags: [String], gets: Bool) async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(100) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "target", tags: targetTags)
                let task = try await hub.createTask(api, target: "target")
                let agent = try await SimAgent.register(
                    api, registrationToken: try await hub.registrationToken(), tags: agentTags)
                let answer = try await agent.poll(api)
                #expect(answer.assignments.map(\.taskID) == (gets ? [task.id] : []))
            }
        }
    }

    @Test("a waiting poll is answered the moment a matching task is queued")
    func waitingPollWakes() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(25) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "prod-db", tags: ["prod"])
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                let agent = try await SimAgent.register(api, registrationToken: registration, tags: ["prod"])
                let started = ContinuousClock.now
                async let answer = agent.poll(api)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
                _ = try await hub.createTask(api, target: "local")  // not for this agent
                let task = try await hub.createTask(api, target: "prod-db")
                let assignments = try await answer.assignments
                #expect(assignments.map(\.taskID) == [task.id])
                #expect(assignments.first?.target.name == "prod-db")
                // Handed over on the spot, not at some later tick.
                #expect(ContinuousClock.now - started < .seconds(10))
                let stored = try await hub.store.task(id: task.id)
                #expect(stored?.status == .assigned)
                #expect(stored?.agent == agent.name)
            }
        }
    }

    @Test("a newer poll of the same agent answers the older one empty")
    func onePollPerAgent() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(25) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                async let first = agent.poll(api)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
                async let second = agent.poll(api)
                #expect(try await first.isEmpty)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
                let task = try await hub.createTask(api, target: "local")
                #expect(try await second.assignments.map(\.taskID) == [task.id])
            }
        }
    }

    @Test("an idle poll ends empty at the poll timeout")
    func pollTimesOut() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(200) }) { hub in
            try await hub.withAPI { api in
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let started = ContinuousClock.now
                #expect(try await agent.poll(api).isEmpty)
                #expect(ContinuousClock.now - started >= .milliseconds(150))
                #expect(await hub.hub.dispatcher.snapshot().waitingPolls == 0)
            }
        }
    }

    @Test("the poll wait never exceeds half the heartbeat timeout")
    func effectivePollTimeout() {
        var configuration = HubConfiguration()
        configuration.heartbeatTimeout = .seconds(10)
        configuration.pollTimeout = .seconds(25)
        #expect(configuration.effectivePollTimeout == .seconds(5))
        #expect(configuration.effectiveSweepInterval == .seconds(1))
        configuration.heartbeatTimeout = .seconds(2)
        #expect(configuration.effectiveSweepInterval == .milliseconds(500))
    }

    @Test("200 tasks raced by several agents are each claimed and run exactly once")
    func raceOf200Tasks() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(300) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                var agents: [SimAgent] = []
                for _ in 0..<6 {
                    agents.append(try await SimAgent.register(api, registrationToken: registration, concurrency: 3))
                }
                var created: Set<String> = []
                for _ in 0..<200 { created.insert(try await hub.createTask(api, target: "local").id) }

                let runs = try await withThrowingTaskGroup(of: [String].self) { group in
                    for agent in agents {
                        group.addTask {
                            var ran: [String] = []
                            var idle = 0
                            while idle < 2 {
                                let answer = try await agent.poll(api, freeSlots: 3)
                                idle = answer.assignments.isEmpty ? idle + 1 : 0
                                for assignment in answer.assignments {
                                    #expect(try await agent.start(api, assignment.taskID).status == .ok)
                                    #expect(try await agent.finish(api, assignment.taskID).status == .ok)
                                    ran.append(assignment.taskID)
                                }
                            }
                            return ran
                        }
                    }
                    var all: [String] = []
                    for try await ran in group { all += ran }
                    return all
                }
                #expect(runs.count == 200)
                #expect(Set(runs) == created)
                let succeeded = try await hub.store.listTasks(status: .succeeded, limit: 1000)
                #expect(succeeded.count == 200)
                #expect(await hub.hub.dispatcher.snapshot().queuedTasks == 0)
            }
        }
    }

    @Test("cancelling a running task sends a cancel control to its agent's waiting poll")
    func cancelControl() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(25) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.map(\.taskID) == [task.id])
                #expect(try await agent.start(api, task.id).status == .ok)

                async let waiting = agent.poll(api, running: [task.id], freeSlots: 0)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
                let cancel = try await api.send(.post, "/api/v1/tasks/\(task.id)/cancel")
                #expect(cancel.status == .ok)
                #expect(try cancel.decode(TaskRecord.self).cancelRequested)
                #expect(try await waiting.controls == [ControlMessage(kind: .cancel, taskID: task.id)])

                let finish = try await agent.finish(api, task.id, status: .cancelled, exitCode: nil)
                #expect(try finish.decode(TaskRecord.self).status == .cancelled)
            }
        }
    }

    @Test("cancelling a queued task cancels it at once and no agent gets it")
    func cancelQueued() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(100) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let task = try await hub.createTask(api, target: "local")
                let cancel = try await api.send(.post, "/api/v1/tasks/\(task.id)/cancel")
                #expect(try cancel.decode(TaskRecord.self).status == .cancelled)
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                #expect(try await agent.poll(api).isEmpty)
            }
        }
    }

    @Test("a task the agent runs that the hub does not know gets one abandon control")
    func abandonUnknownTask() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(100) }) { hub in
            try await hub.withAPI { api in
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let first = try await agent.poll(api, running: ["tsk_unknown"])
                #expect(first.controls == [ControlMessage(kind: .abandon, taskID: "tsk_unknown")])
                // Sent once: a second poll listing it waits instead of answering at once.
                #expect(try await agent.poll(api, running: ["tsk_unknown"]).isEmpty)
            }
        }
    }

    @Test("another agent's task gets an abandon control")
    func abandonForeignTask() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(100) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                let owner = try await SimAgent.register(api, registrationToken: registration)
                let other = try await SimAgent.register(api, registrationToken: registration)
                let task = try await hub.createTask(api, target: "local")
                #expect(try await owner.poll(api).assignments.count == 1)
                let answer = try await other.poll(api, running: [task.id], freeSlots: 0)
                #expect(answer.controls == [ControlMessage(kind: .abandon, taskID: task.id)])
                // Another agent's task gets the answer of a task that does not exist.
                #expect(try await other.start(api, task.id).status == .notFound)
            }
        }
    }

    @Test("an assignment whose answer was lost is sent again on the next poll")
    func redelivery() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(100) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.map(\.taskID) == [task.id])
                // The agent never saw it: it does not list it.
                #expect(try await agent.poll(api).assignments.map(\.taskID) == [task.id])
                // Once listed, it is acknowledged and not sent again.
                #expect(try await agent.poll(api, running: [task.id], freeSlots: 0).isEmpty)
                #expect(try await agent.poll(api, running: [], freeSlots: 1).isEmpty)
            }
        }
    }

    @Test("a draining agent gets no new tasks")
    func drainingAgent() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(100) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                _ = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api, freeSlots: 1, draining: true).isEmpty)
                #expect(try await agent.poll(api, freeSlots: 1).assignments.count == 1)
            }
        }
    }

    @Test("queued and active work is reloaded when the hub restarts")
    func reloadAfterRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-hub-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = HubConfiguration()
        configuration.dataDirectory = directory
        configuration.pollTimeout = .milliseconds(100)
        let logger = Logging.Logger(label: "test")

        let first = try await HubRuntime.start(configuration: configuration, logger: logger)
        let adminToken = try #require(first.firstStartAdminToken)
        let hub1 = TestHub(runtime: first, clock: ManualClock(), adminToken: adminToken)
        let (agent, running, queued) = try await hub1.withAPI { api in
            try await hub1.createTarget(api, name: "local")
            let agent = try await SimAgent.register(api, registrationToken: try await hub1.registrationToken())
            let running = try await hub1.createTask(api, target: "local")
            #expect(try await agent.poll(api).assignments.count == 1)
            #expect(try await agent.start(api, running.id).status == .ok)
            let queued = try await hub1.createTask(api, target: "local")
            return (agent, running, queued)
        }
        await first.hub.store.shutdown()

        let second = try await HubRuntime.start(configuration: configuration, logger: logger)
        #expect(second.firstStartAdminToken == nil)
        let hub2 = TestHub(runtime: second, clock: ManualClock(), adminToken: adminToken)
        try await hub2.withAPI { api in
            // Same agent token, same running task: no abandon; the queued task is handed out.
            let answer = try await agent.poll(api, running: [running.id], freeSlots: 1)
            #expect(answer.controls.isEmpty)
            #expect(answer.assignments.map(\.taskID) == [queued.id])
        }
        await second.hub.store.shutdown()
    }
}
