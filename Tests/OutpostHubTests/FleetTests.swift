import Foundation
import HTTPTypes
import OutpostCore
@testable import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// Agent types' admission rules: names, reservations, exclusive tag sets and
/// provider layouts — each refusal with a reason an operator can act on.
@Suite("Fleet admission")
struct FleetAdmissionTests {
    @Test("agent names must be 8 to 80 characters; 7 and 81 are refused")
    func nameLength() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await hub.registrationToken()
                for (name, accepted) in [
                    (String(repeating: "a", count: 7), false), (String(repeating: "b", count: 8), true),
                    (String(repeating: "c", count: 80), true), (String(repeating: "d", count: 81), false),
                    ("has space", false), ("slash/name", false),
                ] {
                    let reply = try await register(api, token, RegisterRequest.agent(name: name))
                    if accepted {
                        #expect(reply.status == .created, "\(name.count) characters: \(reply.text)")
                    } else {
                        #expect(reply.status == .badRequest, "\(name.count) characters should be refused")
                        #expect(reply.error?.message.contains("agent name") == true)
                    }
                }
            }
        }
    }

    @Test("random names are valid agent names and unique")
    func randomNames() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await hub.registrationToken()
                var names: Set<String> = []
                for _ in 0..<40 {
                    let agent = try await SimAgent.register(api, registrationToken: token)
                    try Names.validateAgentName(agent.name)
                    names.insert(agent.name)
                }
                #expect(names.count == 40)
            }
        }
    }

    @Test("a duplicate name is refused while its holder is online")
    func duplicateName() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await hub.registrationToken()
                _ = try await SimAgent.register(api, registrationToken: token, name: "build-runner-1")
                let second = try await register(api, token, RegisterRequest.agent(name: "build-runner-1"))
                #expect(second.status == .conflict)
                #expect(second.error?.code == "name_in_use")
                #expect(second.error?.message.contains("build-runner-1") == true)
            }
        }
    }

    @Test("a reserved name is refused to others until the reservation ends; immediate release frees it at once")
    func reservedName() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let reserving = try await createType(api, ["name": "reserving", "name_release_seconds": 600])
                let first = try await SimAgent.register(api, registrationToken: reserving, name: "db-proxy-eu1")
                _ = try await api.send(.post, "/api/v1/agent/deregister", token: .bearer(first.token))

                let refused = try await register(api, reserving, RegisterRequest.agent(name: "db-proxy-eu1"))
                #expect(refused.status == .conflict)
                #expect(refused.error?.code == "name_reserved")
                #expect(refused.error?.message.contains("reserved until") == true)
                // Other types cannot take it either: the name is reserved hub-wide.
                let other = try await hub.registrationToken(type: "other")
                #expect(try await register(api, other, RegisterRequest.agent(name: "db-proxy-eu1")).status == .conflict)

                hub.clock.advance(by: 599)
                #expect(try await register(api, reserving, RegisterRequest.agent(name: "db-proxy-eu1")).status == .conflict)
                hub.clock.advance(by: 2)
                #expect(try await register(api, reserving, RegisterRequest.agent(name: "db-proxy-eu1")).status == .created)

                // The default type releases at once.
                let immediate = try await hub.registrationToken()
                let quick = try await SimAgent.register(api, registrationToken: immediate, name: "short-lived-1")
                _ = try await api.send(.post, "/api/v1/agent/deregister", token: .bearer(quick.token))
                #expect(try await register(api, immediate, RegisterRequest.agent(name: "short-lived-1")).status == .created)
            }
        }
    }

    @Test("an exclusive type lets one online agent hold a tag set; the refusal does not name the holder")
    func exclusiveTags() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await createType(api, ["name": "singletons", "exclusive": true, "allowed_tags": ["*"]])
                let holder = try await SimAgent.register(api, registrationToken: token, name: "prod-db-agent", tags: ["prod", "db"])
                let refused = try await register(api, token, RegisterRequest.agent(name: "prod-db-agent2", tags: ["db", "prod"]))
                #expect(refused.status == .conflict)
                #expect(refused.error?.code == "tags_held")
                // Who holds it is the operator's to learn (the hub's log), not the registering agent's.
                #expect(refused.error?.message.contains("another online agent already holds tags db,prod") == true)
                #expect(refused.error?.message.contains("\"prod-db-agent\"") == false)
                // Another tag set is free; so is the same one once the holder left.
                #expect(try await register(api, token, RegisterRequest.agent(tags: ["staging", "db"])).status == .created)
                _ = try await api.send(.post, "/api/v1/agent/deregister", token: .bearer(holder.token))
                #expect(
                    try await register(api, token, RegisterRequest.agent(name: "prod-db-agent2", tags: ["prod", "db"])).status
                        == .created)
                // A type that is not exclusive allows a pool.
                let pool = try await hub.registrationToken(type: "pool")
                for _ in 0..<3 {
                    #expect(try await register(api, pool, RegisterRequest.agent(tags: ["web"])).status == .created)
                }
            }
        }
    }

    @Test("agents sharing a tag set must report the same provider layout; the refusal reveals neither the peer nor its layout")
    func layoutMismatch() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await hub.registrationToken()
                var first = RegisterRequest.agent(name: "payments-a", tags: ["payments"])
                first.providerFingerprint = "aws:aws-secrets-manager,vault:vault"
                #expect(try await register(api, token, first).status == .created)

                var second = RegisterRequest.agent(name: "payments-b", tags: ["payments"])
                second.providerFingerprint = "gcp:gcp-secret-manager,vault:http"
                let refused = try await register(api, token, second)
                #expect(refused.status == .conflict)
                #expect(refused.error?.code == "provider_layout_mismatch")
                let message = refused.error?.message ?? ""
                #expect(message.contains("secret-provider layout"), "\(message)")
                #expect(!message.contains("payments-a") && !message.contains("aws-secrets-manager"), "\(message)")

                // The same layout joins the pool; another tag set may differ.
                var same = RegisterRequest.agent(name: "payments-c", tags: ["payments"])
                same.providerFingerprint = "aws:aws-secrets-manager,vault:vault"
                #expect(try await register(api, token, same).status == .created)
                var elsewhere = RegisterRequest.agent(tags: ["search"])
                elsewhere.providerFingerprint = "gcp:gcp-secret-manager"
                #expect(try await register(api, token, elsewhere).status == .created)
            }
        }
    }

    @Test("a revoked registration token registers nothing until rotated")
    func revokedToken() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await hub.registrationToken(type: "fleet")
                let revoked = try await api.send(.post, "/api/v1/agent-types/fleet/revoke-token", body: "")
                #expect(revoked.status == .ok)
                #expect(try revoked.decode(AgentType.self).tokenRevoked)
                #expect(try await register(api, token, RegisterRequest.agent()).status == .unauthorized)
                let rotated = try await api.send(.post, "/api/v1/agent-types/fleet/rotate-token", body: "")
                let fresh = try rotated.decode(AgentTypeTokenResponse.self)
                #expect(!fresh.agentType.tokenRevoked)
                #expect(try await register(api, fresh.registrationToken, RegisterRequest.agent()).status == .created)
            }
        }
    }

    @Test("agent type options are validated with messages naming the field")
    func typeValidation() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let cases: [([String: Any], String)] = [
                    (["name": "a", "name_policy": "aws-sts"], "aws.account_id"),
                    (["name": "b", "name_policy": "aws-sts", "aws": ["account_id": "12345", "allowed_roles": [], "sts_endpoint": "https://sts.amazonaws.com"]], "12 digits"),
                    (["name": "c", "name_policy": "aws-sts", "aws": ["account_id": "123456789012", "allowed_roles": ["arn:aws:iam::1:role/x"], "sts_endpoint": "https://sts.amazonaws.com"]], "AWS role name"),
                    (["name": "d", "name_policy": "aws-sts", "aws": ["account_id": "123456789012", "allowed_roles": [], "sts_endpoint": "ftp://sts"]], "STS endpoint"),
                    (["name": "e", "aws": ["account_id": "123456789012", "allowed_roles": [], "sts_endpoint": "https://sts.amazonaws.com"]], "aws-sts"),
                    (["name": "f", "name_release_seconds": -1], "name_release_seconds"),
                    (["name": "g", "name_policy": "telepathy"], "name_policy"),
                ]
                for (body, expected) in cases {
                    let reply = try await api.send(.post, "/api/v1/agent-types", json: body)
                    #expect(reply.status == .badRequest, "\(body)")
                    #expect(reply.error?.message.contains(expected) == true, "\(reply.error?.message ?? reply.text)")
                }
            }
        }
    }
}

/// Lifecycle decisions the hub makes and tells agents in poll answers.
@Suite("Fleet lifecycle")
struct FleetLifecycleTests {
    @Test("disconnect-after-job: one task, then a disconnect with the reason, and never a second task")
    func disconnectAfterJob() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(20) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "ci")
                let first = try await hub.createTask(api, target: "ci")
                let second = try await hub.createTask(api, target: "ci")
                let token = try await hub.registrationToken()
                var request = RegisterRequest.agent(concurrency: 2)
                request.disconnectAfterJob = true
                let agent = try await registerAgent(api, token, request)

                let answer = try await agent.poll(api, freeSlots: 2)
                #expect(answer.assignments.map(\.taskID) == [first.id], "an ephemeral agent takes exactly one task")
                #expect(answer.controls.isEmpty)
                #expect(try await agent.start(api, first.id).status == .ok)

                async let waiting = agent.poll(api, running: [first.id], freeSlots: 1)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
                #expect(try await agent.finish(api, first.id).status == .ok)
                let told = try await waiting
                #expect(told.assignments.isEmpty)
                #expect(told.controls.map(\.kind) == [.disconnect])
                #expect(told.controls.first?.reason?.contains("finished its job") == true)
                #expect(try await hub.store.task(id: second.id)?.status == .queued)
            }
        }
    }

    @Test("idle timeout: a waiting poll is told to disconnect once the agent was idle that long")
    func idleTimeout() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(20) }) { hub in
            try await hub.withAPI { api in
                let token = try await hub.registrationToken()
                var request = RegisterRequest.agent()
                request.idleTimeoutSeconds = 1
                let agent = try await registerAgent(api, token, request)
                let started = ContinuousClock.now
                async let waiting = agent.poll(api)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
                hub.clock.advance(by: 2)
                let told = try await waiting
                #expect(told.controls.map(\.kind) == [.disconnect])
                #expect(told.controls.first?.reason?.contains("idle for 1s") == true, "\(told.controls)")
                #expect(ContinuousClock.now - started < .seconds(10), "told at the idle deadline, not the poll deadline")
            }
        }
    }

    @Test("an agent with a task is never idle; its idle time starts when the task ends")
    func idleOnlyWithoutTasks() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(300) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "slow")
                let task = try await hub.createTask(api, target: "slow")
                let token = try await hub.registrationToken()
                var request = RegisterRequest.agent()
                request.idleTimeoutSeconds = 60
                let agent = try await registerAgent(api, token, request)
                #expect(try await agent.poll(api).assignments.map(\.taskID) == [task.id])
                hub.clock.advance(by: 120)
                #expect(try await agent.poll(api, running: [task.id], freeSlots: 0).controls.isEmpty)
                #expect(try await agent.finish(api, task.id).status == .ok)
                hub.clock.advance(by: 30)
                #expect(try await agent.poll(api).controls.isEmpty)
                hub.clock.advance(by: 31)
                #expect(try await agent.poll(api).controls.map(\.kind) == [.disconnect])
            }
        }
    }

    @Test("drain: running tasks finish, no new task is taken, then the agent is told to disconnect")
    func drain() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(20) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "web")
                let running = try await hub.createTask(api, target: "web")
                let token = try await hub.registrationToken()
                let agent = try await SimAgent.register(api, registrationToken: token, name: "web-node-01", concurrency: 2)
                #expect(try await agent.poll(api, freeSlots: 2).assignments.map(\.taskID) == [running.id])

                let drained = try await api.send(.post, "/api/v1/agents/web-node-01/drain", body: "")
                #expect(drained.status == .ok, "\(drained.text)")
                #expect(try drained.decode(AgentRecord.self).status == .draining)
                let listed = try await api.send(.get, "/api/v1/agents").decode(ListResponse<AgentRecord>.self)
                #expect(listed.items.first?.status == .draining)

                let queued = try await hub.createTask(api, target: "web")
                async let waiting = agent.poll(api, running: [running.id], freeSlots: 1)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })
                #expect(try await hub.store.task(id: queued.id)?.status == .queued, "a draining agent takes no new work")
                #expect(try await agent.finish(api, running.id).status == .ok)
                let told = try await waiting
                #expect(told.assignments.isEmpty)
                #expect(told.controls.map(\.kind) == [.disconnect])
                #expect(told.controls.first?.reason?.contains("drained") == true)

                let unknown = try await api.send(.post, "/api/v1/agents/nobody-here/drain", body: "")
                #expect(unknown.status == .notFound)
            }
        }
    }
}

/// User tokens travel with the task in memory only.
@Suite("User tokens on the hub")
struct UserTokenHubTests {
    static let canary = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeS03Nzc"

    @Test("the token reaches the agent with the assignment, is never stored, and is forgotten once the task ends")
    func tokenInMemoryOnly() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(300) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "prod")
                var headers = HTTPFields()
                headers[HTTPField.Name("X-Outpost-User-Token")!] = Self.canary
                let created = try await api.send(
                    .post, "/api/v1/tasks", json: ["target": "prod", "script": "echo"], headers: headers)
                #expect(created.status == .created)
                let task = try created.decode(TaskRecord.self)
                #expect(task.userTokenRequired)
                expectAbsent(Self.canary, in: created.text, "created.text")

                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let assignment = try #require(try await agent.poll(api).assignments.first)
                expectSecret(assignment.userToken, is: Self.canary, "the assignment's user token")
                let stored = try await (hub.store as! any SQLHubStore).rawAssignment(taskID: task.id)
                expectAbsent(Self.canary, in: stored, "the stored assignment must not hold the user token")

                let start = try await api.send(
                    .post, "/api/v1/agent/tasks/\(task.id)/start", token: .bearer(agent.token),
                    encodable: StartRequest(userSubject: "alice@example.com"))
                #expect(try start.decode(TaskRecord.self).userSubject == "alice@example.com")
                #expect(try await agent.finish(api, task.id).status == .ok)
                #expect(hub.hub.userTokens.count == 0)
                let read = try await api.send(.get, "/api/v1/tasks/\(task.id)")
                expectAbsent(Self.canary, in: read.text, "read.text")
                #expect(try read.decode(TaskRecord.self).userSubject == "alice@example.com")
            }
        }
    }

    @Test("a malformed user token header is refused without echoing it")
    func malformedHeader() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "prod")
                var headers = HTTPFields()
                headers[HTTPField.Name("X-Outpost-User-Token")!] = "two words-secretcanary"
                let reply = try await api.send(
                    .post, "/api/v1/tasks", json: ["target": "prod", "script": "echo"], headers: headers)
                #expect(reply.status == .badRequest)
                #expect(!reply.text.contains("secretcanary"))
            }
        }
    }
}

// MARK: - Helpers

extension RegisterRequest {
    static func agent(name: String? = nil, tags: [String] = [], concurrency: Int = 1) -> RegisterRequest {
        RegisterRequest(name: name, tags: TagSet(tags), version: "test", os: "linux", concurrency: concurrency)
    }
}

private func register(_ api: API, _ token: String, _ request: RegisterRequest) async throws -> Reply {
    try await api.send(.post, "/api/v1/agent/register", token: .bearer(token), encodable: request)
}

private func registerAgent(_ api: API, _ token: String, _ request: RegisterRequest) async throws -> SimAgent {
    let reply = try await register(api, token, request)
    #expect(reply.status == .created, "register: \(reply.text)")
    let response = try reply.decode(RegisterResponse.self)
    return SimAgent(id: response.agentID, name: response.name, token: response.agentToken)
}

/// Creates an agent type with options and returns its registration token.
private func createType(_ api: API, _ body: [String: Any]) async throws -> String {
    let reply = try await api.send(.post, "/api/v1/agent-types", json: body)
    #expect(reply.status == .created, "create type: \(reply.text)")
    return try reply.decode(AgentTypeTokenResponse.self).registrationToken
}
