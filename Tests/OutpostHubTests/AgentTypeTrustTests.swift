import Foundation
import HTTPTypes
import Logging
import OutpostCore
import OutpostTestSupport
import OutpostStore
import Testing

@testable import OutpostHub

/// Issue 11, finding 4: one pool's registration token must not buy another pool's
/// work. Agent types bound the tags their agents may carry, refusals say nothing
/// about other agents, and targets may pin agent types.
@Suite("Agent type trust")
struct AgentTypeTrustTests {
    /// The request the hostile tester sent, byte for byte in its fields.
    static var rogueRequest: [String: Any] {
        [
            "name": "rogue-dev-agent", "tags": ["sec"], "provider_fingerprint": "env:env",
            "version": "1.0.0", "os": "linux", "concurrency": 1, "protocol_version": AgentProtocol.version,
        ]
    }

    @Test("the rogue registration with a low-trust type's token is refused with 403 and never gets the production task")
    func rogueRegistrationRefused() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(1) }) { hub in
            try await hub.withAPI { api in
                let prod = try await createType(api, ["name": "prod", "allowed_tags": ["sec"]])
                let dev = try await createType(api, ["name": "dev", "allowed_tags": ["dev-*"]])
                let production = try await SimAgent.register(api, registrationToken: prod, name: "prod-sec-agent", tags: ["sec"])

                let refused = try await api.send(
                    .post, "/api/v1/agent/register", token: .bearer(dev), json: Self.rogueRequest)
                #expect(refused.status == .forbidden)
                #expect(refused.error?.code == "forbidden")
                let message = refused.error?.message ?? ""
                #expect(message.contains(#"agent type "dev""#) && message.contains(#"tag "sec""#), "\(message)")
                // Nothing about the pool it tried to join.
                #expect(!message.contains("prod"), "\(message)")
                #expect(!message.contains("env:env"), "\(message)")

                // The rogue holds no session: it is not listed and the production task goes to the production agent.
                let agents = try await api.send(.get, "/api/v1/agents").decode(ListResponse<AgentRecord>.self).items
                #expect(agents.map(\.name) == ["prod-sec-agent"])
                try await hub.createTarget(api, name: "sec-db", tags: ["sec"])
                let task = try await hub.createTask(api, target: "sec-db")
                #expect(try await production.poll(api).assignments.map(\.taskID) == [task.id])

                // Its own tags, exact or by pattern, are fine.
                var own = Self.rogueRequest
                own["tags"] = ["dev-eu"]
                #expect(try await api.send(.post, "/api/v1/agent/register", token: .bearer(dev), json: own).status == .created)
            }
        }
    }

    @Test(
        "allowed tags: exact tags and * patterns; every tag of the agent must be allowed",
        arguments: [
            (["prod", "eu"], ["prod"], true),
            (["prod", "eu"], ["prod", "eu"], true),
            (["prod", "eu"], ["prod", "us"], false),
            (["team-*"], ["team-payments", "team-search"], true),
            (["team-*"], ["team-"], true),
            (["team-*"], ["teams"], false),
            (["*-db"], ["orders-db"], true),
            (["*"], ["anything", "at:all"], true),
            ([String](), [String](), true),
            ([], ["prod"], false),
        ])
    func allowedTags(allowed: [String], tags: [String], accepted: Bool) async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await createType(api, ["name": "pool", "allowed_tags": allowed])
                let request = RegisterRequest(name: nil, tags: TagSet(tags), version: "t", os: "linux", concurrency: 1)
                let reply = try await api.send(.post, "/api/v1/agent/register", token: .bearer(token), encodable: request)
                #expect(reply.status == (accepted ? .created : .forbidden), "\(allowed) vs \(tags): \(reply.text)")
            }
        }
    }

    @Test("a new type without allowed_tags admits only untagged agents; PATCH opens it, and the list is shown")
    func denyByDefaultThenUpdate() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await createType(api, ["name": "fresh"])
                let tagged = RegisterRequest(name: nil, tags: TagSet(["prod"]), version: "t", os: "linux", concurrency: 1)
                let untagged = RegisterRequest(name: nil, tags: .empty, version: "t", os: "linux", concurrency: 1)
                #expect(try await api.send(.post, "/api/v1/agent/register", token: .bearer(token), encodable: tagged).status == .forbidden)
                #expect(try await api.send(.post, "/api/v1/agent/register", token: .bearer(token), encodable: untagged).status == .created)

                let patched = try await api.send(.patch, "/api/v1/agent-types/fresh", json: ["allowed_tags": ["prod", "eu-*"]])
                #expect(patched.status == .ok, "\(patched.text)")
                #expect(try patched.decode(AgentType.self).allowedTags.map(\.pattern) == ["prod", "eu-*"])
                #expect(try await api.send(.post, "/api/v1/agent/register", token: .bearer(token), encodable: tagged).status == .created)
                let listed = try await api.send(.get, "/api/v1/agent-types").decode(ListResponse<AgentType>.self).items
                #expect(listed.first { $0.name == "fresh" }?.allowedTags.map(\.pattern) == ["prod", "eu-*"])

                #expect(try await api.send(.patch, "/api/v1/agent-types/missing", json: ["allowed_tags": ["*"]]).status == .notFound)
                let bad = try await api.send(.patch, "/api/v1/agent-types/fresh", json: ["allowed_tags": ["pro d"]])
                #expect(bad.status == .badRequest)
                #expect(bad.error?.message.contains(#"allowed tag "pro d""#) == true, "\(bad.text)")
                let badCreate = try await api.send(.post, "/api/v1/agent-types", json: ["name": "x", "allowed_tags": [""]])
                #expect(badCreate.status == .badRequest)
                #expect(badCreate.error?.message.contains("allowed tag") == true, "\(badCreate.text)")
            }
        }
    }

    @Test("narrowing allowed tags drains the online agents it no longer admits, and only those")
    func narrowingDrains() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(1) }) { hub in
            try await hub.withAPI { api in
                let token = try await createType(api, ["name": "pool", "allowed_tags": ["old", "keep"]])
                let stale = try await SimAgent.register(api, registrationToken: token, name: "stale-agent", tags: ["old"])
                let kept = try await SimAgent.register(api, registrationToken: token, name: "kept-agent", tags: ["keep"])
                let patched = try await api.send(.patch, "/api/v1/agent-types/pool", json: ["allowed_tags": ["keep"]])
                #expect(patched.status == .ok, "\(patched.text)")

                let told = try await stale.poll(api)
                #expect(told.controls.map(\.kind) == [.disconnect], "\(told)")
                #expect(try await kept.poll(api).controls.isEmpty)
                let agents = try await api.send(.get, "/api/v1/agents").decode(ListResponse<AgentRecord>.self).items
                #expect(agents.first { $0.name == "stale-agent" }?.status == .draining)
                #expect(agents.first { $0.name == "kept-agent" }?.status != .draining)

                // Coming back with the old tag is refused.
                let again = try await api.send(
                    .post, "/api/v1/agent/register", token: .bearer(token),
                    encodable: RegisterRequest(name: "stale-agent-2", tags: TagSet(["old"]), version: "t", os: "linux", concurrency: 1))
                #expect(again.status == .forbidden)
            }
        }
    }

    @Test("refusals name no other agent and no other layout; the hub's log tells the operator both")
    func refusalsNameNobody() async throws {
        let logs = CapturedLogs()
        try await TestHub.with(logs: logs) { hub in
            try await hub.withAPI { api in
                let exclusive = try await createType(api, ["name": "singles", "exclusive": true, "allowed_tags": ["*"]])
                _ = try await SimAgent.register(api, registrationToken: exclusive, name: "vault-holder-1", tags: ["vault"])
                let held = try await api.send(
                    .post, "/api/v1/agent/register", token: .bearer(exclusive),
                    encodable: RegisterRequest(name: "newcomer-01", tags: TagSet(["vault"]), version: "t", os: "linux", concurrency: 1))
                #expect(held.status == .conflict)
                #expect(held.error?.code == "tags_held")
                #expect(held.error?.message.contains("vault-holder-1") == false, "\(held.text)")
                #expect(logs.lines(containing: "exclusive tag set held").contains { $0.contains("holder=vault-holder-1") })

                let pool = try await hub.registrationToken()
                var first = RegisterRequest(name: "payments-a", tags: TagSet(["payments"]), version: "t", os: "linux", concurrency: 1)
                first.providerFingerprint = "aws:aws-secrets-manager,vault:vault"
                #expect(try await api.send(.post, "/api/v1/agent/register", token: .bearer(pool), encodable: first).status == .created)
                var guess = RegisterRequest(name: "payments-b", tags: TagSet(["payments"]), version: "t", os: "linux", concurrency: 1)
                guess.providerFingerprint = "env:env"
                let mismatch = try await api.send(.post, "/api/v1/agent/register", token: .bearer(pool), encodable: guess)
                #expect(mismatch.status == .conflict)
                #expect(mismatch.error?.code == "provider_layout_mismatch")
                let message = mismatch.error?.message ?? ""
                for leak in ["payments-a", "aws", "vault"] {
                    #expect(!message.contains(leak), "the refusal reveals \(leak): \(message)")
                }
                let logged = logs.lines(containing: "provider layout differs")
                #expect(logged.contains { $0.contains("holder=payments-a") && $0.contains(#"provider "vault""#) }, "\(logged)")
            }
        }
    }

    @Test("a pinned target is never given to an agent of another type with the same tags, waiting or polling")
    func pinnedTarget() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(1) }) { hub in
            try await hub.withAPI { api in
                let prodEU = try await createType(api, ["name": "prod-eu", "allowed_tags": ["prod"]])
                let other = try await createType(api, ["name": "staging", "allowed_tags": ["prod"]])
                let impostor = try await SimAgent.register(api, registrationToken: other, name: "impostor-1", tags: ["prod"])
                let owner = try await SimAgent.register(api, registrationToken: prodEU, name: "owner-eu-1", tags: ["prod"])

                let created = try await api.send(
                    .post, "/api/v1/targets",
                    json: ["name": "orders", "integration": "bash", "tags": ["prod"], "agent_types": ["prod-eu"]])
                #expect(created.status == .created, "\(created.text)")
                #expect(try created.decode(Target.self).agentTypes == ["prod-eu"])
                #expect(try await api.send(.get, "/api/v1/targets/orders").decode(Target.self).agentTypes == ["prod-eu"])

                // The impostor waits in a long poll when the task arrives: it must not be woken with it.
                async let waiting = impostor.poll(api)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls >= 1 })
                let task = try await hub.createTask(api, target: "orders")
                #expect(try await waiting.assignments.isEmpty)
                #expect(try await impostor.poll(api).assignments.isEmpty)
                #expect(try await api.send(.get, "/api/v1/tasks/\(task.id)").decode(TaskRecord.self).status == .queued)

                #expect(try await owner.poll(api).assignments.map(\.taskID) == [task.id])

                // An unpinned target with the same tags still goes to either.
                try await hub.createTarget(api, name: "shared", tags: ["prod"])
                let shared = try await hub.createTask(api, target: "shared")
                #expect(try await impostor.poll(api).assignments.map(\.taskID) == [shared.id])
            }
        }
    }

    @Test("should the dispatcher ever offer a pinned task to the wrong type, the store refuses and the poll just comes back empty")
    func storeRefusesWrongClaim() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(300) }) { hub in
            try await hub.withAPI { api in
                let ownerToken = try await createType(api, ["name": "prod-eu", "allowed_tags": ["prod"]])
                let otherToken = try await createType(api, ["name": "staging", "allowed_tags": ["prod"]])
                let owner = try await SimAgent.register(api, registrationToken: ownerToken, name: "owner-eu-1", tags: ["prod"])
                let impostor = try await SimAgent.register(api, registrationToken: otherToken, name: "impostor-1", tags: ["prod"])
                _ = try await api.send(
                    .post, "/api/v1/targets",
                    json: ["name": "orders", "integration": "bash", "tags": ["prod"], "agent_types": ["prod-eu"]])
                let task = try await hub.createTask(api, target: "orders")
                // Make the dispatcher's copy forget the pin (a stand-in for a dispatcher bug).
                await hub.hub.dispatcher.tasksEnded([task.id], now: hub.clock.date)
                await hub.hub.dispatcher.enqueue(QueuedTask(id: task.id, tags: TagSet(["prod"]), createdAt: hub.clock.date))

                let reply = try await api.send(
                    .post, "/api/v1/agent/poll", token: .bearer(impostor.token),
                    encodable: PollRequest(running: [], freeSlots: 1, draining: false))
                #expect(reply.status == .ok, "\(reply.text)")
                #expect(try reply.decode(PollResponse.self).assignments.isEmpty)
                #expect(try await hub.store.task(id: task.id)?.status == .queued)
                let taken = try await owner.poll(api)
                #expect(taken.assignments.map(\.taskID) == [task.id])
            }
        }
    }

    @Test("a pinned task still queued when the hub restarts stays pinned")
    func pinSurvivesRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-hub-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = HubConfiguration()
        configuration.dataDirectory = directory
        configuration.pollTimeout = .milliseconds(200)
        var logger = Logger(label: "test")
        logger.logLevel = .critical

        let first = try await HubRuntime.start(configuration: configuration, logger: logger)
        let adminToken = try #require(first.firstStartAdminToken)
        let hub1 = TestHub(runtime: first, clock: ManualClock(), adminToken: adminToken)
        let (owner, impostor, task) = try await hub1.withAPI { api in
            let ownerToken = try await createType(api, ["name": "prod-eu", "allowed_tags": ["prod"]])
            let otherToken = try await createType(api, ["name": "staging", "allowed_tags": ["prod"]])
            let owner = try await SimAgent.register(api, registrationToken: ownerToken, name: "owner-eu-1", tags: ["prod"])
            let impostor = try await SimAgent.register(api, registrationToken: otherToken, name: "impostor-1", tags: ["prod"])
            let created = try await api.send(
                .post, "/api/v1/targets",
                json: ["name": "orders", "integration": "bash", "tags": ["prod"], "agent_types": ["prod-eu"]])
            #expect(created.status == .created, "\(created.text)")
            return (owner, impostor, try await hub1.createTask(api, target: "orders"))
        }
        await first.hub.store.shutdown()

        let second = try await HubRuntime.start(configuration: configuration, logger: logger)
        let hub2 = TestHub(runtime: second, clock: ManualClock(), adminToken: adminToken)
        try await hub2.withAPI { api in
            let offered = try await impostor.poll(api)
            #expect(offered.assignments.isEmpty)
            let taken = try await owner.poll(api)
            #expect(taken.assignments.map(\.taskID) == [task.id])
        }
        await second.hub.store.shutdown()
    }

    @Test("pinning an agent type that does not exist is refused naming it")
    func pinUnknownType() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let reply = try await api.send(
                    .post, "/api/v1/targets", json: ["name": "orders", "integration": "bash", "agent_types": ["prod-ue"]])
                #expect(reply.status == .badRequest)
                #expect(reply.error?.message.contains(#"no agent type named "prod-ue""#) == true, "\(reply.text)")
            }
        }
    }
}

/// Creates an agent type with options and returns its registration token.
private func createType(_ api: API, _ body: [String: Any]) async throws -> String {
    let reply = try await api.send(.post, "/api/v1/agent-types", json: body)
    #expect(reply.status == .created, "create type: \(reply.text)")
    return try reply.decode(AgentTypeTokenResponse.self).registrationToken
}
