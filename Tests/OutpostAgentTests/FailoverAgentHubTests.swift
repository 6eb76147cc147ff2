import Foundation
import Logging
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostTestSupport
import OutpostTransport
import Testing

/// `FailoverAgentHub` over in-memory replicas that share one database (a `FakeHub`):
/// where each call goes, and what the agent sees when a replica dies.
@Suite("Hub failover")
struct FailoverAgentHubTests {
    /// Replicas of one hub, and the failover hub over them.
    struct Replicas {
        let database: FakeHub
        let replicas: [FakeReplica]
        let logs = CapturedLogs(label: "outpost.agent.test")
        let hub: FailoverAgentHub

        init(_ count: Int = 2, pollWait: Duration = .milliseconds(200)) {
            database = FakeHub(pollWait: pollWait)
            replicas = (0..<count).map { [database] in
                FakeReplica(url: "https://hub-\($0 + 1).internal:8443", database: database)
            }
            hub = FailoverAgentHub(replicas: replicas.map(\.replica), logger: logs.logger)
        }

        var a: FakeReplica { replicas[0] }
        var b: FakeReplica { replicas[1] }

        /// Lines at notice level and above.
        var notices: [String] { logs.all.filter { $0.level >= .notice }.map(\.text) }

        func register() async throws -> String {
            try await hub.register(
                RegisterRequest(name: "failover-agent", tags: .empty, version: "1", os: "Linux", concurrency: 1)
            ).agentToken
        }
    }

    static let poll = PollRequest(running: [], freeSlots: 1)

    @Test("calls stick to the URL that works: the other replicas get none")
    func sticks() async throws {
        let setup = Replicas(3)
        let token = try await setup.register()
        _ = try await setup.hub.poll(Self.poll, timeout: .seconds(5), agentToken: token)
        try await setup.hub.startTask(id: "tsk_1", StartRequest(), agentToken: token)
        #expect(try await setup.hub.appendLog(taskID: "tsk_1", offset: 0, bytes: "hello\n".bytes, agentToken: token) == 6)
        try await setup.hub.finishTask(
            id: "tsk_1", FinishRequest(status: .succeeded, exitCode: 0, error: nil, logBytes: 6), agentToken: token)
        try await setup.hub.deregister(agentToken: token)

        #expect(setup.a.state.value.calls == ["register", "poll", "start:tsk_1", "log:tsk_1@0", "finish:tsk_1", "deregister"])
        #expect(setup.replicas[1].state.value.calls.isEmpty)
        #expect(setup.replicas[2].state.value.calls.isEmpty)
        #expect(setup.hub.currentURL == setup.a.currentURL)
        #expect(setup.notices.isEmpty)
    }

    @Test("a refused connection sends the same call to the next URL, which answers; later calls stay there, with one notice")
    func refusedMovesOn() async throws {
        let setup = Replicas()
        setup.a.kill()
        let token = try await setup.register()
        #expect(setup.a.state.value.calls == ["register"])
        #expect(setup.b.state.value.calls == ["register"])
        #expect(setup.hub.currentURL == setup.b.currentURL)

        // The first replica is back: the agent stays where it works.
        setup.a.revive()
        _ = try await setup.hub.poll(Self.poll, timeout: .seconds(5), agentToken: token)
        try await setup.hub.startTask(id: "tsk_1", StartRequest(), agentToken: token)
        #expect(setup.a.state.value.calls == ["register"])
        #expect(setup.b.state.value.calls == ["register", "poll", "start:tsk_1"])

        #expect(setup.notices.count == 1)
        let notice = setup.notices.first ?? ""
        #expect(notice.contains(setup.a.currentURL) && notice.contains(setup.b.currentURL))
        #expect(notice.contains("connection refused"))
        #expect(!notice.contains(token))
    }

    @Test(
        "an answer of the hub is the call's outcome: it is not sent to another URL",
        arguments: [
            ClientError(.http(status: 401, code: .unauthorized), "invalid or expired token"),
            ClientError(.http(status: 401, code: .agentOffline), "the agent is offline"),
            ClientError(.http(status: 403, code: .forbidden), "not this agent's task"),
            ClientError(.http(status: 409, code: .taskFinished), "the task is finished"),
            ClientError(.http(status: 404, code: .notFound), "no such task"),
            ClientError(.http(status: 500, code: .internal), "internal error"),
            ClientError(.tls(.expired), "the hub's certificate expired"),
        ])
    func answersAreNotFailedOver(answer: ClientError) async throws {
        let setup = Replicas()
        setup.a.state.update { $0.nextAnswer = answer }
        let error = await #expect(throws: ClientError.self) {
            try await setup.hub.startTask(id: "tsk_1", StartRequest(), agentToken: "agent-token-1")
        }
        #expect(error == answer)
        #expect(setup.b.state.value.calls.isEmpty)
        #expect(setup.hub.currentURL == setup.a.currentURL)
        #expect(setup.notices.isEmpty)
    }

    @Test("with every URL down, the call reports the first failure's kind, naming each URL; then the first to return takes over")
    func allDown() async throws {
        let setup = Replicas()
        setup.a.kill()
        setup.b.kill(with: ClientError(.http(status: 503, code: nil), "the hub answered HTTP 503 for /api/v1/agent/register"))
        let error = await #expect(throws: ClientError.self) { try await setup.register() }
        #expect(error?.code == .unreachable)
        #expect(error?.isRetryable == true)
        #expect(error?.message.contains(setup.a.currentURL) == true)
        #expect(error?.message.contains("HTTP 503") == true)
        #expect(setup.a.state.value.calls == ["register"])
        #expect(setup.b.state.value.calls == ["register"])
        #expect(setup.notices.isEmpty)

        // The session backs off and calls again: the replica that came back answers.
        setup.b.revive()
        _ = try await setup.register()
        #expect(setup.hub.currentURL == setup.b.currentURL)
        #expect(setup.notices.count == 1)
    }

    @Test("a long poll cut by its replica dying is sent to the next replica, which hands out the work")
    func longPollFailsOver() async throws {
        let setup = Replicas()
        let token = try await setup.register()
        setup.a.state.update { $0.pollsHang = true }
        async let answer = setup.hub.poll(Self.poll, timeout: .seconds(30), agentToken: token)
        #expect(await setup.a.waitFor { $0.calls.last == "poll" })
        let assignment = TaskAssignment(
            taskID: "tsk_1", target: Target(name: "t", integration: "bash"), script: "true", timeoutSeconds: 60)
        setup.database.enqueue(assignment)
        setup.a.kill(with: setup.a.reset())

        #expect(try await answer.assignments.map(\.taskID) == ["tsk_1"])
        #expect(setup.b.state.value.calls == ["poll"])
        #expect(setup.notices.first?.contains("connection closed") == true)
    }

    @Test("a cancelled call is not sent to another URL: cancellation says nothing about the replica")
    func cancelledCallStays() async throws {
        let setup = Replicas()
        let token = try await setup.register()
        setup.a.state.update { $0.pollsHang = true }
        let hub = setup.hub
        let call = Task { try await hub.poll(Self.poll, timeout: .seconds(30), agentToken: token) }
        #expect(await setup.a.waitFor { $0.calls.last == "poll" })
        call.cancel()
        #expect(await call.result.isFailure)
        #expect(setup.b.state.value.calls.isEmpty)
        #expect(setup.hub.currentURL == setup.a.currentURL)
    }

    @Test("the client certificate is handed to every URL, so a move keeps presenting it")
    func identityReachesEveryReplica() throws {
        let setup = Replicas(3)
        let authority = try TestCertificateAuthority(name: "Agent CA")
        let key = TestAgentKey()
        let certificate = try authority.issueClientCertificate(for: key, uri: "outpost://agent/agt_1")
        setup.hub.useClientIdentity(try ClientIdentity(certificatePEM: certificate, privateKeyPEM: key.privateKeyPEM))
        setup.hub.useClientIdentity(nil)
        for replica in setup.replicas {
            #expect(replica.state.value.identities == [true, false])
        }
    }

    @Test(
        "a log append cut by its replica dying resumes on the next at the offset that replica reports; the log is byte-identical",
        arguments: [FakeReplica.AppendDeath.beforeStoring, .afterStoring])
    func logResumesOnTheNextReplica(death: FakeReplica.AppendDeath) async throws {
        let setup = Replicas()
        let token = try await setup.register()
        let taskID = "tsk_log"
        try await setup.hub.startTask(id: taskID, StartRequest(), agentToken: token)
        // The third chunk (bytes 200..<300) kills the first replica.
        setup.a.state.update { $0.dieOnAppend = (number: 3, how: death) }

        let directory = NSTemporaryDirectory() + "outpost-failover-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = SystemAgentClock()
        let spool = try LogSpool(path: directory + "/task.log", clock: clock)
        var rng = SeededRandom(seed: 7)
        let produced = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try spool.append(produced)
        spool.finishWriting()
        let shipper = LogShipper(
            spool: spool, sink: HubLogSink(hub: setup.hub, credentials: SessionCredentials(token: token), taskID: taskID),
            clock: clock, flushBytes: 100, flushInterval: .milliseconds(1),
            backoff: Backoff(initial: .milliseconds(1), maximum: .milliseconds(4)), logger: setup.logs.logger,
            maxChunkBytes: 100)

        #expect(await shipper.run() == .delivered(bytes: 1000))
        #expect(setup.database.state.value.logs[taskID] == produced)
        let logCalls = { (replica: FakeReplica) in replica.state.value.calls.filter { $0.hasPrefix("log:") } }
        #expect(logCalls(setup.a) == ["log:tsk_log@0", "log:tsk_log@100", "log:tsk_log@200"])
        // The cut chunk goes again to the second replica, which answers 300 whether the first
        // stored it or not; the shipper goes on from there.
        #expect(logCalls(setup.b) == (2..<10).map { "log:tsk_log@\($0 * 100)" })
        #expect(setup.database.state.value.violations.isEmpty)
    }

    @Test("an agent keeps running its task when its replica dies: the log arrives byte-identical and the result through the next")
    func daemonSurvivesReplicaLoss() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let setup = Replicas()
        var configuration = env.configuration
        configuration.name = "failover-agent"
        let agent = AgentDaemon(
            configuration: configuration, hub: setup.hub, environment: env.inheritedEnvironment, logger: setup.logs.logger)
        // The task holds until the replica is gone, however slowly a loaded machine runs it.
        let release = NSTemporaryDirectory() + "/failover-release-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: release) }
        let assignment = env.assignment(
            "for i in $(seq 1 20); do echo \"line $i\"; done; while [ ! -e \(release) ]; do sleep 0.02; done; "
                + "for i in $(seq 21 40); do echo \"line $i\"; sleep 0.02; done")
        let id = assignment.taskID
        setup.database.enqueue(assignment)

        async let run: Void = agent.run()
        #expect(await setup.database.waitFor { ($0.logs[id]?.count ?? 0) > 0 })
        setup.a.kill(with: setup.a.reset())
        FileManager.default.createFile(atPath: release, contents: nil)
        #expect(await setup.database.waitFor { $0.finishes[id] != nil })
        agent.beginGracefulShutdown()
        try await run

        let expected = (1...40).map { "line \($0)\n" }.joined()
        let state = setup.database.state.value
        #expect(state.logs[id] == expected.bytes)
        #expect(state.finishes[id]?.status == .succeeded)
        #expect(state.finishes[id]?.logBytes == Int64(expected.utf8.count))
        #expect(state.registrations == 1)
        #expect(state.violations.isEmpty)
        #expect(setup.b.state.value.calls.contains("finish:\(id)"))
        #expect(!setup.a.state.value.calls.contains("finish:\(id)"))
        #expect(setup.notices.contains { $0.contains("switched from the hub at \(setup.a.currentURL)") })
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
