@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostTransport
import Testing

@Suite("Session state machine")
struct SessionStateMachineTests {
    let hubURL = "http://hub.example:8080"

    func registered(concurrency: Int = 2) -> AgentSessionStateMachine {
        var machine = AgentSessionStateMachine(concurrency: concurrency, hubURL: hubURL)
        machine.registerSucceeded()
        return machine
    }

    @Test("an active agent registers first, then polls with its free slots")
    func activeFlow() {
        var machine = AgentSessionStateMachine(concurrency: 2, hubURL: hubURL)
        #expect(machine.next(running: []) == .register)
        machine.registerSucceeded()
        #expect(machine.next(running: []) == .poll(PollRequest(running: [], freeSlots: 2)))
        #expect(machine.next(running: ["a"]) == .poll(PollRequest(running: ["a"], freeSlots: 1)))
        #expect(machine.next(running: ["a", "b"]) == .poll(PollRequest(running: ["a", "b"], freeSlots: 0)))
    }

    @Test("a draining agent polls with no free slot until its tasks are done, then deregisters")
    func drainingFlow() {
        var machine = registered()
        machine.beginDraining()
        #expect(machine.next(running: ["a"]) == .poll(PollRequest(running: ["a"], freeSlots: 0, draining: true)))
        #expect(machine.next(running: []) == .deregister)
    }

    @Test("draining before registration stops at once, unless tasks still need a session")
    func drainingUnregistered() {
        var machine = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        machine.beginDraining()
        #expect(machine.next(running: []) == .stop)
        #expect(machine.next(running: ["a"]) == .register)
    }

    @Test("a hard stop deregisters when registered and stops otherwise; draining cannot undo it")
    func stopping() {
        var machine = registered()
        machine.beginStopping()
        machine.beginDraining()
        #expect(machine.mode == .stopping)
        #expect(machine.next(running: ["a"]) == .deregister)
        var fresh = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        fresh.beginStopping()
        #expect(fresh.next(running: []) == .stop)
    }

    @Test("a refused registration token is fatal with a message that says what to do", arguments: [401, 403])
    func refusedToken(status: Int) {
        var machine = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        let code: APIErrorCode? = status == 401 ? .unauthorized : nil
        let action = machine.registerFailed(ClientError(.http(status: status, code: code), "invalid token"))
        guard case .fail(let code, let message) = action else {
            Issue.record("expected a failure, got \(action)")
            return
        }
        #expect(code == .registrationRefused)
        #expect(message.contains(hubURL))
        #expect(message.contains("--token"))
        #expect(message.contains("agent-type"))
    }

    @Test("an agent type that names agents after their AWS identity gets one signed registration more")
    func awsIdentityRequired() {
        let required = ClientError(.http(status: 400, code: .awsIdentityRequired), "sign an identity")
        var signer = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL, canSignAWSIdentity: true)
        #expect(!signer.provesAWSIdentity)
        #expect(signer.registerFailed(required) == .register)
        #expect(signer.provesAWSIdentity)
        // Asked again although it signed: the hub's message is the failure.
        #expect(signer.registerFailed(required) == .fail(.registrationFailed, "sign an identity"))

        var noSigner = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL, canSignAWSIdentity: false)
        #expect(noSigner.registerFailed(required) == .fail(.registrationFailed, "sign an identity"))
        let upFront = AgentSessionStateMachine(
            concurrency: 1, hubURL: hubURL, signsAWSIdentityUpFront: true, canSignAWSIdentity: true)
        #expect(upFront.provesAWSIdentity)
    }

    @Test("the poll deadline is the hub's poll wait plus a margin, whatever number the hub sends")
    func pollDeadline() {
        var machine = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        #expect(machine.pollDeadline == .seconds(60))
        machine.registerSucceeded(pollTimeoutSeconds: 25)
        #expect(machine.pollDeadline == .seconds(40))
        for hostile in [Double.infinity, .nan, -5, 1e300] {
            machine.registerSucceeded(pollTimeoutSeconds: hostile)
            #expect(machine.pollDeadline <= .seconds(3615))
        }
    }

    @Test("a registration the agent type forbids (a tag it does not allow) is fatal with the hub's reason")
    func forbiddenRegistration() {
        var machine = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        let reason = "agent type \"dev\" does not allow tag \"sec\""
        let action = machine.registerFailed(ClientError(.http(status: 403, code: .forbidden), reason))
        #expect(action == .fail(.registrationRefused, "the hub at \(hubURL) refused this agent: \(reason)"))
    }

    @Test("a refused hub certificate ends registration with the cause, not as the hub's refusal")
    func refusedCertificate() {
        var machine = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        let message = "cannot reach the hub at \(hubURL): the hub's certificate expired on 2026-12-01 08:00 UTC (CN=hub)"
        let action = machine.registerFailed(ClientError(.tls(.expired), message))
        #expect(action == .fail(.registrationFailed, message))
    }

    @Test("registration backs off with growing attempts while the hub is unreachable")
    func registerRetries() {
        var machine = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        #expect(machine.registerFailed(ClientError(.unreachable, "connection refused")) == .backOff(attempt: 1))
        #expect(machine.registerFailed(ClientError(.http(status: 503, code: nil), "down")) == .backOff(attempt: 2))
        machine.registerSucceeded()
        #expect(machine.failures == 0)
    }

    @Test("a name still held by an online agent (a restart before the hub noticed) is waited for")
    func nameInUse() {
        var machine = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        #expect(machine.registerFailed(ClientError(.http(status: 409, code: .nameInUse), "held")) == .backOff(attempt: 1))
    }

    @Test("other registration refusals (a conflict) are fatal")
    func registerConflict() {
        var machine = AgentSessionStateMachine(concurrency: 1, hubURL: hubURL)
        let action = machine.registerFailed(ClientError(.http(status: 409, code: .conflict), "name taken"))
        #expect(action == .fail(.registrationFailed, "the hub at \(hubURL) refused to register this agent: name taken"))
    }

    @Test("a dropped session re-registers at once", arguments: [APIErrorCode.agentOffline, .unauthorized])
    func sessionDropped(code: APIErrorCode) {
        var machine = registered()
        #expect(machine.pollFailed(ClientError(.http(status: 401, code: code), "offline")) == .register)
        #expect(!machine.isRegistered)
        #expect(machine.next(running: ["a"]) == .register)
    }

    @Test("a refused client certificate at a poll re-registers at once (for a fresh certificate)")
    func clientCertificateRefused() {
        var machine = registered()
        let refused = ClientError(.http(status: 403, code: .clientCertificateRequired), "present a client certificate")
        #expect(machine.pollFailed(refused) == .register)
        #expect(!machine.isRegistered)
        #expect(machine.next(running: ["a"]) == .register)
    }

    @Test("a lost client certificate makes the session register again; tasks go on")
    func clientCertificateLost() {
        var machine = registered()
        _ = machine.pollFailed(ClientError(.unreachable, "refused"))
        machine.clientCertificateLost()
        #expect(machine.next(running: ["a"]) == .register)
        #expect(machine.failures == 0)
        machine.registerSucceeded()
        #expect(machine.next(running: ["a"]) == .poll(PollRequest(running: ["a"], freeSlots: 1)))
    }

    @Test("poll failures back off and a success resets the count")
    func pollRetries() {
        var machine = registered()
        #expect(machine.pollFailed(ClientError(.unreachable, "refused")) == .backOff(attempt: 1))
        #expect(machine.pollFailed(ClientError(.http(status: 500, code: .internal), "boom")) == .backOff(attempt: 2))
        machine.pollSucceeded()
        #expect(machine.pollFailed(ClientError(.unreachable, "refused")) == .backOff(attempt: 1))
    }
}

@Suite("Backoff and failure classification")
struct BackoffTests {
    @Test("delays double from the initial delay up to the maximum, jittered within the upper half")
    func delays() {
        let backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(10))
        #expect(backoff.delay(attempt: 1, unit: 1) == .milliseconds(200))
        #expect(backoff.delay(attempt: 1, unit: 0) == .milliseconds(100))
        #expect(backoff.delay(attempt: 2, unit: 1) == .milliseconds(400))
        #expect(backoff.delay(attempt: 6, unit: 1) == .milliseconds(6400))
        #expect(backoff.delay(attempt: 7, unit: 1) == .seconds(10))
        #expect(backoff.delay(attempt: 500, unit: 0.5) == .milliseconds(7500))
        for attempt in 1...40 {
            let delay = backoff.delay(attempt: attempt)
            #expect(delay >= .milliseconds(100) && delay <= .seconds(10))
        }
    }

    @Test("hub errors map to what the agent does about them", arguments: [
        (ClientError(.unreachable, "x"), HubFailure.retry),
        (ClientError(.http(status: 503, code: nil), "x"), .retry),
        (ClientError(.invalidResponse, "x"), .retry),
        (ClientError(.http(status: 401, code: .agentOffline), "x"), .sessionExpired),
        (ClientError(.http(status: 401, code: .unauthorized), "x"), .sessionExpired),
        // Not `taskGone` like other 403s: a task's calls retry once the agent has a new certificate.
        (ClientError(.http(status: 403, code: .clientCertificateRequired), "x"), .sessionExpired),
        (ClientError(.http(status: 403, code: .forbidden), "x"), .taskGone),
        (ClientError(.http(status: 409, code: .taskFinished), "x"), .taskGone),
        (ClientError(.http(status: 404, code: .notFound), "x"), .taskGone),
        (ClientError(.http(status: 409, code: .logGap), "x", expectedOffset: 42), .logGap(expectedOffset: 42)),
        (ClientError(.http(status: 413, code: .logTooLarge), "x"), .logTooLarge),
        (ClientError(.http(status: 409, code: .logIncomplete), "x"), .logIncomplete),
        (ClientError(.http(status: 400, code: .invalidRequest), "x"), .permanent),
        (ClientError(.invalidRequest, "x"), .permanent),
    ])
    func classification(error: ClientError, expected: HubFailure) {
        #expect(HubFailure(error) == expected)
    }
}

@Suite("Agent configuration")
struct AgentConfigurationTests {
    @Test("the defaults are the documented ones")
    func defaults() throws {
        let configuration = AgentConfiguration(hubURLs: ["http://127.0.0.1:8080"], registrationToken: "t")
        #expect(configuration.name == nil)
        #expect(configuration.tags == .empty)
        #expect(configuration.concurrency == 1)
        #expect(configuration.workDirectory == "./outpost-agent")
        #expect(configuration.killGrace == .seconds(10))
        #expect(configuration.drainTimeout == .seconds(2))
        #expect(configuration.logFlushBytes == 65536)
        #expect(configuration.logFlushInterval == .milliseconds(200))
        #expect(configuration.maxLogBytes == 64 << 20)
        #expect(configuration.retryInitialDelay == .milliseconds(200))
        #expect(configuration.retryMaxDelay == .seconds(10))
        #expect(
            configuration.integrations.names == [
                "bash", "elixir", "hashicorp-vault", "k8s", "k8s-apply", "k8s-exec", "mongodb", "mysql", "mysql-csv", "node", "postgres",
                "python", "rails", "rails-console", "rails-console-ecs", "ruby", "sh", "sql-server",
            ])
        try configuration.validate()
    }

    @Test("invalid values are refused naming the field", arguments: [
        (AgentConfiguration(hubURLs: ["hub:8080"], registrationToken: "t"), "agent hub:"),
        (AgentConfiguration(hubURLs: [], registrationToken: "t"), "agent hub: at least one"),
        (AgentConfiguration(hubURLs: ["https://a:1", "ftp://b"], registrationToken: "t"), "agent hub: \"ftp://b\" is not"),
        (AgentConfiguration(hubURLs: ["https://a:1", "https://A:1/"], registrationToken: "t"),
         "agent hub: \"https://A:1/\" is listed twice"),
        (AgentConfiguration(hubURLs: ["http://127.0.0.1:1", "http://10.0.0.5:1"], registrationToken: "t"),
         "agent hub: plain http:// to 10.0.0.5"),
        (AgentConfiguration(hubURLs: ["https://h"], registrationToken: ""), "agent token:"),
        (AgentConfiguration(hubURLs: ["https://h"], registrationToken: "t", name: "short"), "agent name:"),
        (AgentConfiguration(hubURLs: ["https://h"], registrationToken: "t", name: "bad name here"), "agent name:"),
        (AgentConfiguration(hubURLs: ["https://h"], registrationToken: "t", tags: TagSet(["a b"])), "agent tags:"),
        (AgentConfiguration(hubURLs: ["https://h"], registrationToken: "t", concurrency: 0), "agent concurrency:"),
    ])
    func invalid(configuration: AgentConfiguration, prefix: String) {
        #expect {
            try configuration.validate()
        } throws: { error in
            guard let error = error as? AgentError else { return false }
            return error.code == .invalidConfiguration && error.message.hasPrefix(prefix)
        }
    }
}
