import Foundation
import Logging
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import Testing

/// The daemon against an in-memory hub: registration, polling, running, shutdown.
@Suite("Agent daemon")
struct AgentDaemonTests {
    func daemon(_ env: TestEnvironment, hub: FakeHub, name: String? = "test-agent-01") -> AgentDaemon {
        var configuration = env.configuration
        configuration.name = name
        return AgentDaemon(
            configuration: configuration, hub: hub, environment: env.inheritedEnvironment, logger: testLogger)
    }

    @Test("runs an assigned task, ships its log after start, reports the exit code, and deregisters on graceful shutdown")
    func runsATask() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let agent = daemon(env, hub: hub)
        let assignment = env.assignment("echo hello\nexit 3")
        hub.enqueue(assignment)
        let id = assignment.taskID

        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.finishes[id] != nil })
        agent.beginGracefulShutdown()
        try await run

        let state = hub.state.value
        #expect(state.registerRequests.first?.name == "test-agent-01")
        #expect(state.registerRequests.first?.concurrency == 1)
        #expect(state.polls.first == PollRequest(running: [], freeSlots: 1))
        #expect(state.finishes[id] == FinishRequest(status: .failed, exitCode: 3, error: "exited with code 3", logBytes: 6))
        #expect(state.logs[id] == "hello\n".bytes)
        #expect(state.violations.isEmpty)
        #expect(state.calls.firstIndex(of: "start:\(id)")! < state.calls.firstIndex(of: "log:\(id)")!)
        #expect(state.calls.last == "deregister")
        #expect(state.deregistrations == [FakeHub.token(1)])
    }

    @Test("runs up to `concurrency` tasks at once and announces a freed slot without waiting out the long poll")
    func concurrencyAndFreedSlots() async throws {
        var env = try TestEnvironment()
        env.configuration.concurrency = 2
        defer { env.remove() }
        // Empty polls would hang for a minute: only an interrupted poll can pick up the third task in time.
        let hub = FakeHub(pollWait: .seconds(60))
        let agent = daemon(env, hub: hub)
        let gate = "while [ ! -e \"$SCRATCH/go\" ]; do sleep 0.02; done\n"
        let tasks = (1...3).map { env.assignment(gate + "echo task \($0)") }
        tasks.forEach(hub.enqueue)

        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.started.count == 2 })
        #expect(await hub.waitFor { $0.polls.last?.freeSlots == 0 && $0.polls.last?.running.count == 2 })
        #expect(hub.state.value.started.count == 2)
        _ = FileManager.default.createFile(atPath: env.scratch + "/go", contents: nil)
        #expect(await hub.waitFor(timeout: .seconds(10)) { $0.finishes.count == 3 })
        agent.beginGracefulShutdown()
        try await run
        for task in tasks {
            #expect(hub.state.value.finishes[task.taskID]?.status == .succeeded)
        }
    }

    @Test("a finish whose slot the hub's waiting poll took over keeps that poll open: the next task comes back on it")
    func slotTakenOverKeepsThePoll() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        // Empty polls would hang for a minute: the second task can only come back on the
        // poll that was open when the first finished (or on a new one, which would show).
        let hub = FakeHub(pollWait: .seconds(60))
        hub.state.update { $0.takesSlotsOver = true }
        let agent = daemon(env, hub: hub)
        let gate = "while [ ! -e \"$SCRATCH/go\" ]; do sleep 0.02; done\n"
        let tasks = [env.assignment(gate + "echo task 1"), env.assignment("echo task 2")]
        hub.enqueue(tasks[0])

        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.polls.last == PollRequest(running: [tasks[0].taskID], freeSlots: 0) })
        hub.enqueue(tasks[1])
        _ = FileManager.default.createFile(atPath: env.scratch + "/go", contents: nil)
        #expect(await hub.waitFor(timeout: .seconds(10)) { $0.finishes[tasks[1].taskID] != nil })
        agent.beginGracefulShutdown()
        try await run
        let state = hub.state.value
        for task in tasks { #expect(state.finishes[task.taskID]?.status == .succeeded) }
        // No poll after the first announced a free slot: the second task came back on the
        // poll the agent kept open through the first task's finish.
        #expect(state.polls.dropFirst().allSatisfy { $0.freeSlots == 0 }, "\(state.polls)")
    }

    @Test("a refused registration token ends run() with an error saying what to do, without the token")
    func refusedToken() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        hub.state.update { $0.registerFailures = [ClientError(.http(status: 401, code: .unauthorized), "invalid token")] }
        await #expect {
            try await daemon(env, hub: hub).run()
        } throws: { error in
            guard let error = error as? AgentError else { return false }
            return error.code == .registrationRefused && error.message.contains("--token")
                && !error.message.contains(env.configuration.registrationToken)
        }
    }

    @Test("registration is retried while the hub is unreachable")
    func registrationRetries() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        hub.state.update { $0.registerFailures = Array(repeating: ClientError(.unreachable, "refused"), count: 3) }
        let agent = daemon(env, hub: hub)
        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.registrations == 1 && !$0.polls.isEmpty })
        agent.beginGracefulShutdown()
        try await run
        #expect(hub.state.value.calls.prefix(4) == ["register", "register", "register", "register"])
    }

    @Test("graceful shutdown takes no more work, keeps polling as draining, waits for the task, then deregisters")
    func gracefulShutdownDrains() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let agent = daemon(env, hub: hub)
        let assignment = env.assignment("echo $$ > \"$SCRATCH/main\"\nwhile [ ! -e \"$SCRATCH/go\" ]; do sleep 0.02; done\necho done")
        hub.enqueue(assignment)

        async let run: Void = agent.run()
        _ = try #require(await env.pid("main"))
        agent.beginGracefulShutdown()
        // Still draining: polls say so, and new work is not taken.
        #expect(await hub.waitFor { $0.polls.last == PollRequest(running: [assignment.taskID], freeSlots: 0, draining: true) })
        hub.enqueue(env.assignment("echo should not run"))
        _ = FileManager.default.createFile(atPath: env.scratch + "/go", contents: nil)
        try await run

        let state = hub.state.value
        #expect(state.finishes[assignment.taskID]?.status == .succeeded)
        #expect(state.logs[assignment.taskID] == "done\n".bytes)
        #expect(state.finishes.count == 1)
        #expect(state.calls.last == "deregister")
    }

    @Test("a cancel from the hub stops the task and reports it cancelled")
    func cancelControl() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let agent = daemon(env, hub: hub)
        let assignment = env.assignment(TeardownTests.stubbornScript)
        hub.enqueue(assignment)
        async let run: Void = agent.run()
        let main = try #require(await env.pid("main"))
        let child = try #require(await env.pid("child"))
        hub.enqueue(ControlMessage(kind: .cancel, taskID: assignment.taskID))
        #expect(await hub.waitFor { $0.finishes[assignment.taskID] != nil })
        agent.beginGracefulShutdown()
        try await run
        #expect(hub.state.value.finishes[assignment.taskID]?.status == .cancelled)
        #expect(isGone(main))
        #expect(isGone(child))
    }

    @Test("a cancel for a task the agent does not hold settles it as cancelled")
    func cancelUnknownTask() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let agent = daemon(env, hub: hub)
        hub.enqueue(ControlMessage(kind: .cancel, taskID: "tsk_unknown"))
        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.finishes["tsk_unknown"] != nil })
        agent.beginGracefulShutdown()
        try await run
        #expect(hub.state.value.finishes["tsk_unknown"]?.status == .cancelled)
    }

    @Test("cancelling run() (a second signal) tears the task down, reports it and returns")
    func hardStop() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let agent = daemon(env, hub: hub)
        let assignment = env.assignment(TeardownTests.stubbornScript)
        hub.enqueue(assignment)
        let run = Task { try await agent.run() }
        let main = try #require(await env.pid("main"))
        let child = try #require(await env.pid("child"))
        run.cancel()
        try await run.value

        let finish = hub.state.value.finishes[assignment.taskID]
        #expect(finish?.status == .cancelled)
        #expect(finish?.error == "the agent was stopped before the task finished")
        #expect(isGone(main))
        #expect(isGone(child))
        #expect(hub.state.value.calls.last == "deregister")
    }

    @Test("when the hub drops the session the agent registers again and the running task reports with the new token")
    func reregisters() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let agent = daemon(env, hub: hub)
        let assignment = env.assignment("echo $$ > \"$SCRATCH/main\"\nwhile [ ! -e \"$SCRATCH/go\" ]; do sleep 0.02; done\necho done")
        hub.enqueue(assignment)
        async let run: Void = agent.run()
        _ = try #require(await env.pid("main"))
        hub.state.update { $0.pollFailures = [ClientError(.http(status: 401, code: .agentOffline), "offline")] }
        #expect(await hub.waitFor { $0.registrations == 2 })
        _ = FileManager.default.createFile(atPath: env.scratch + "/go", contents: nil)
        #expect(await hub.waitFor { $0.finishes[assignment.taskID] != nil })
        agent.beginGracefulShutdown()
        try await run
        #expect(hub.state.value.finishes[assignment.taskID]?.status == .succeeded)
        #expect(hub.state.value.finishTokens[assignment.taskID] == FakeHub.token(2))
        #expect(hub.state.value.deregistrations == [FakeHub.token(2)])
    }

    @Test("a second agent on the same work directory is refused")
    func workDirectoryLock() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let firstHub = FakeHub()
        let first = daemon(env, hub: firstHub)
        async let run: Void = first.run()
        let hub = FakeHub()
        // The first agent holds the lock once it registered.
        #expect(await firstHub.waitFor { $0.registrations == 1 })
        await #expect {
            try await daemon(env, hub: hub, name: "second-agent").run()
        } throws: { error in
            (error as? AgentError)?.code == .workDirectory
        }
        first.beginGracefulShutdown()
        try await run
    }
}

@Suite("Token hygiene")
struct TokenHygieneTests {
    @Test("printing or dumping the daemon or its configuration never shows the registration token")
    func noTokenInDescriptions() throws {
        let configuration = AgentConfiguration(hubURLs: ["http://127.0.0.1:8080"], registrationToken: "opr_secret_value_123")
        let daemon = AgentDaemon(configuration: configuration, logger: testLogger)
        var dumped = ""
        dump(daemon, to: &dumped)
        for text in [
            String(describing: daemon), String(reflecting: daemon), String(describing: configuration),
            String(reflecting: configuration), dumped,
        ] {
            #expect(!text.contains("opr_secret_value_123"))
        }
        #expect(String(describing: daemon) == "AgentDaemon(hub: http://127.0.0.1:8080)")
    }
}
