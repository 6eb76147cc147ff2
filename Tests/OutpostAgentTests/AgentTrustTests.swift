import Foundation
import Logging
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import Testing

/// A user-token check that answers from a table and records what it saw.
final class ScriptedTokenCheck: UserTokenChecking, @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String?] = []
    let answer: @Sendable (String?) -> UserTokenCheck

    init(_ answer: @escaping @Sendable (String?) -> UserTokenCheck) { self.answer = answer }

    func decide(_ token: String?, now: Date) async -> UserTokenCheck {
        lock.withLock { seen.append(token) }
        return answer(token)
    }

    var tokensSeen: [String?] { lock.withLock { seen } }
}

/// The agent's side of fleet trust and lifecycle: user-token enforcement before a
/// task runs, leaving when the hub says so, and proving its AWS identity on demand.
@Suite("Agent trust and lifecycle")
struct AgentTrustTests {
    func daemon(_ env: TestEnvironment, hub: FakeHub, _ configure: (inout AgentConfiguration) -> Void = { _ in })
        -> AgentDaemon
    {
        var configuration = env.configuration
        configuration.name = "trust-agent-01"
        configure(&configuration)
        return AgentDaemon(
            configuration: configuration, hub: hub, environment: env.inheritedEnvironment, logger: testLogger)
    }

    @Test("a refused user token rejects the task with the reason, before anything runs")
    func refusedToken() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let check = ScriptedTokenCheck { _ in .rejected(reason: "user token expired at 2026-11-22T06:00:00Z") }
        let agent = daemon(env, hub: hub) { $0.userTokens = check }
        var tokened = env.assignment("touch \"$SCRATCH/ran\"")
        tokened.userToken = "header.payload.signature"
        let assignment = tokened
        hub.enqueue(assignment)

        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.finishes[assignment.taskID] != nil })
        agent.beginGracefulShutdown()
        try await run

        let finish = try #require(hub.state.value.finishes[assignment.taskID])
        #expect(finish.status == .rejected)
        #expect(finish.error == "user token refused: user token expired at 2026-11-22T06:00:00Z")
        #expect(finish.userSubject == nil)
        #expect(!FileManager.default.fileExists(atPath: env.scratch + "/ran"), "a refused task never runs")
        #expect(hub.state.value.started[assignment.taskID] == nil)
        #expect(check.tokensSeen == ["header.payload.signature"])
    }

    @Test("an accepted user token runs the task and reports its subject at start and finish")
    func acceptedToken() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let check = ScriptedTokenCheck { $0 == "good.token.sig" ? .accepted(subject: "alice") : .rejected(reason: "no") }
        let agent = daemon(env, hub: hub) { $0.userTokens = check }
        var tokened = env.assignment("echo ran")
        tokened.userToken = "good.token.sig"
        let assignment = tokened
        let untokened = env.assignment("echo never")
        hub.enqueue(assignment)
        hub.enqueue(untokened)

        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.finishes.count == 2 })
        agent.beginGracefulShutdown()
        try await run

        let state = hub.state.value
        #expect(state.finishes[assignment.taskID]?.status == .succeeded)
        #expect(state.startSubjects[assignment.taskID] == "alice")
        #expect(state.finishes[assignment.taskID]?.userSubject == "alice")
        #expect(state.finishes[untokened.taskID]?.status == .rejected, "without a token nothing runs")
        #expect(check.tokensSeen.contains(nil))
    }

    @Test("without jwk_url a task's user token is not needed")
    func noEnforcement() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let agent = daemon(env, hub: hub)
        let assignment = env.assignment("echo fine")
        hub.enqueue(assignment)
        async let run: Void = agent.run()
        #expect(await hub.waitFor { $0.finishes[assignment.taskID] != nil })
        agent.beginGracefulShutdown()
        try await run
        #expect(hub.state.value.finishes[assignment.taskID]?.status == .succeeded)
    }

    @Test("a disconnect control ends run() on its own: deregistered, no error")
    func disconnect() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let agent = daemon(env, hub: hub) {
            $0.disconnectAfterJob = true
            $0.idleTimeout = .seconds(600)
        }
        hub.enqueue(ControlMessage.disconnect(reason: "it finished its job (--disconnect-after-job)"))
        try await agent.run()
        let state = hub.state.value
        #expect(state.calls.last == "deregister")
        #expect(state.registerRequests.first?.disconnectAfterJob == true)
        #expect(state.registerRequests.first?.idleTimeoutSeconds == 600)
    }

    @Test("when the hub asks for an AWS identity the agent signs one and registers again")
    func awsIdentityOnDemand() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        hub.state.update {
            $0.registerFailures = [ClientError(.http(status: 400, code: .awsIdentityRequired), "needs identity")]
        }
        let signed = SignedHTTPRequest(
            method: "POST", url: "https://sts.amazonaws.com/", headers: [.init(name: "Authorization", value: "AWS4...")],
            body: "Action=GetCallerIdentity&Version=2011-06-15")
        let agent = daemon(env, hub: hub) { $0.awsIdentitySigner = { signed } }
        hub.enqueue(ControlMessage.disconnect(reason: "test over"))
        try await agent.run()
        let requests = hub.state.value.registerRequests
        #expect(requests.count == 2)
        #expect(requests.first?.awsIdentity == nil)
        #expect(requests.last?.awsIdentity == signed)
    }

    @Test("an agent that cannot sign an AWS identity stops with the hub's reason")
    func awsIdentityUnavailable() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        hub.state.update {
            $0.registerFailures = [
                ClientError(.http(status: 400, code: .awsIdentityRequired), "agent type \"ec2\" names agents after their AWS identity")
            ]
        }
        await #expect {
            try await daemon(env, hub: hub).run()
        } throws: { error in
            (error as? AgentError)?.message.contains("names agents after their AWS identity") == true
        }
    }
}
