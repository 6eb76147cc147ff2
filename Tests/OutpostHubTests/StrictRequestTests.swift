import Foundation
import HTTPTypes
import OutpostCore
import Testing

@testable import OutpostHub

/// Request bodies are read strictly: a typo is an error naming the field, not a
/// silently applied default.
@Suite("Strict requests")
struct StrictRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        enum Token: Sendable { case admin, registration, agent }
        var path: String
        var body: String
        var token: Token = .admin
        /// What the error message must contain.
        var message: String

        var testDescription: String { "\(path) \(body)" }
    }

    static let register = #""tags":[],"version":"1","os":"linux","concurrency":1,"protocol_version":1"#

    static let unknownFields: [Case] = [
        Case(
            path: "/api/v1/tasks", body: #"{"target":"local","script":"echo","timout":5}"#,
            message: #"unknown field "timout""#),
        Case(
            path: "/api/v1/targets", body: #"{"name":"t1","integration":"bash","tgas":["a"]}"#,
            message: #"unknown field "tgas""#),
        Case(
            path: "/api/v1/targets",
            body: #"{"name":"t1","integration":"bash","secrets":[{"provider":"env","path":"p","mappings":{}}]}"#,
            message: #"unknown field "secrets[0].mappings""#),
        Case(path: "/api/v1/agent-types", body: #"{"name":"t2","exclusiv":true}"#, message: #"unknown field "exclusiv""#),
        Case(
            path: "/api/v1/agent-types", body: #"{"name":"t2","name_policy":"aws-sts","aws":{"account_id":"123456789012","role":"x"}}"#,
            message: #"unknown field "aws.role""#),
        Case(
            path: "/api/v1/agent/register", body: "{" + register + #","concurency":4}"#, token: .registration,
            message: #"unknown field "concurency""#),
        Case(path: "/api/v1/agent/poll", body: #"{"free_slots":1,"runing":[]}"#, token: .agent, message: #"unknown field "runing""#),
        Case(
            path: "/api/v1/agent/tasks/{task}/start", body: #"{"user_subjet":"x"}"#, token: .agent,
            message: #"unknown field "user_subjet""#),
        Case(
            path: "/api/v1/agent/tasks/{task}/finish", body: #"{"status":"succeeded","log_bytes":0,"exitcode":0}"#,
            token: .agent, message: #"unknown field "exitcode""#),
    ]

    static let duplicateKeys: [Case] = [
        Case(
            path: "/api/v1/tasks", body: #"{"target":"local","script":"echo","script":"rm -rf /"}"#,
            message: #"duplicate key "script""#),
        Case(
            path: "/api/v1/targets", body: #"{"name":"t1","integration":"bash","env":{"A":"1","A":"2"}}"#,
            message: #"duplicate key "env.A""#),
        Case(
            path: "/api/v1/agent/tasks/{task}/finish", body: #"{"status":"succeeded","status":"failed","log_bytes":0}"#,
            token: .agent, message: #"duplicate key "status""#),
    ]

    static let wrongTypes: [Case] = [
        Case(
            path: "/api/v1/tasks", body: #"{"target":"local","script":"x","timeout_seconds":"10"}"#,
            message: #"field "timeout_seconds" must be an integer, got a string"#),
        Case(
            path: "/api/v1/tasks", body: #"{"target":"local","script":"x","timeout_seconds":99999999999999999999}"#,
            message: #"field "timeout_seconds" must be an integer"#),
        Case(
            path: "/api/v1/tasks", body: #"{"target":"local","script":"x","timeout_seconds":10.5}"#,
            message: "got a number with a fraction or exponent"),
        Case(path: "/api/v1/tasks", body: #"{"target":"local","script":7}"#, message: #"field "script" must be a string, got a number"#),
        Case(
            path: "/api/v1/targets", body: #"{"name":"t1","integration":"bash","tags":"prod"}"#,
            message: #"field "tags" must be an array, got a string"#),
        Case(
            path: "/api/v1/agent-types", body: #"{"name":"t2","exclusive":"yes"}"#,
            message: #"field "exclusive" must be a boolean, got a string"#),
        Case(
            path: "/api/v1/agent/poll", body: #"{"free_slots":"1"}"#, token: .agent,
            message: #"field "free_slots" must be an integer, got a string"#),
        Case(path: "/api/v1/tasks", body: #"["local"]"#, message: "the request body must be an object, got an array"),
    ]

    static let bounds: [Case] = [
        Case(
            path: "/api/v1/targets",
            body: #"{"name":"t1","integration":"bash","tags":["# + (1...33).map { "\"t\($0)\"" }.joined(separator: ",") + "]}",
            message: "at most 32 tags"),
        Case(
            path: "/api/v1/agent/register",
            body: #"{"tags":["# + (1...33).map { "\"t\($0)\"" }.joined(separator: ",") + "]," + register.dropFirst(10) + "}",
            token: .registration, message: "at most 32 tags"),
        Case(
            path: "/api/v1/targets",
            body: #"{"name":"t1","integration":"bash","secrets":[{"provider":"my vault!","path":"p"}]}"#,
            message: "secret provider name"),
        Case(
            path: "/api/v1/targets",
            body: #"{"name":"t1","integration":"bash","secrets":[{"provider":"env","path":"a\u0000b"}]}"#,
            message: "without control characters"),
        Case(
            path: "/api/v1/targets",
            body: #"{"name":"t1","integration":"bash","secrets":[{"provider":"env","path":"a\nb"}]}"#,
            message: "without control characters"),
        Case(
            path: "/api/v1/targets",
            body: #"{"name":"t1","integration":"bash","secrets":[{"provider":"env","path":""# + String(repeating: "p", count: 1025)
                + #""}]}"#,
            message: "1 to 1024 bytes"),
        Case(
            path: "/api/v1/targets",
            body: #"{"name":"t1","integration":"bash","secrets":[{"provider":"env","path":"p","mapping":{"X":"a\u0007b"}}]}"#,
            message: "the key mapped to X"),
    ]

    @Test(
        "bodies with an unknown field, a repeated key, a wrong type or past a bound are a 400 naming it",
        arguments: unknownFields + duplicateKeys + wrongTypes + bounds)
    func refused(_ badCase: Case) async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                let agent = try await SimAgent.register(api, registrationToken: registration)
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.count == 1)
                let token: API.Token =
                    switch badCase.token {
                    case .admin: .admin
                    case .registration: .bearer(registration)
                    case .agent: .bearer(agent.token)
                    }
                let reply = try await api.send(
                    .post, badCase.path.replacingOccurrences(of: "{task}", with: task.id), token: token, body: badCase.body,
                    contentType: "application/json")
                #expect(reply.status == .badRequest, "\(reply.text)")
                #expect(reply.error?.code == "invalid_request")
                let message = reply.error?.message ?? ""
                #expect(message.contains(badCase.message), "\(message)")
                // Never echoes a value from the body.
                #expect(!message.contains("rm -rf"))
            }
        }
    }

    @Test("32 tags of 64 characters, a 1024-byte secret path and an empty mapping key are accepted")
    func atTheBounds() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let tags = (1...32).map { String(format: "%02d", $0) + String(repeating: "t", count: 62) }
                let body: [String: Any] = [
                    "name": "edge", "integration": "bash", "tags": tags,
                    "secrets": [
                        ["provider": "aws-secrets-manager", "path": String(repeating: "p", count: 1024), "mapping": ["WHOLE": ""]]
                    ],
                ]
                let reply = try await api.send(.post, "/api/v1/targets", json: body)
                #expect(reply.status == .created, "\(reply.text)")
            }
        }
    }

    @Test("a repeated finish with the same verdict is 200; with another exit code or status 409")
    func repeatedFinish() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.count == 1)
                #expect(try await agent.finish(api, task.id, status: .failed, exitCode: 2).status == .ok)
                #expect(try await agent.finish(api, task.id, status: .failed, exitCode: 2).status == .ok)
                let otherCode = try await agent.finish(api, task.id, status: .failed, exitCode: 3)
                #expect(otherCode.status == .conflict, "\(otherCode.text)")
                #expect(otherCode.error?.code == "task_finished")
                let otherStatus = try await agent.finish(api, task.id, status: .succeeded, exitCode: 2)
                #expect(otherStatus.status == .conflict, "\(otherStatus.text)")
                let stored = try await api.send(.get, "/api/v1/tasks/\(task.id)").decode(TaskRecord.self)
                #expect(stored.status == .failed)
                #expect(stored.exitCode == 2)
            }
        }
    }

    @Test("finish, log and start from the wrong agent get the answer of a task that does not exist")
    func wrongAgentLearnsNothing() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                let owner = try await SimAgent.register(api, registrationToken: registration)
                let other = try await SimAgent.register(api, registrationToken: registration)
                let task = try await hub.createTask(api, target: "local")
                #expect(try await owner.poll(api).assignments.count == 1)
                #expect(try await owner.appendLog(api, task.id, offset: 0, "12345").status == .ok)

                func answers(_ id: String) async throws -> [String] {
                    let finish = try await other.finish(api, id, logBytes: 999)
                    let log = try await other.appendLog(api, id, offset: 0, "x")
                    let start = try await other.start(api, id)
                    return [finish, log, start].map {
                        "\($0.status.code) \($0.error?.code ?? "") \(($0.error?.message ?? "").replacingOccurrences(of: id, with: "ID"))"
                    }
                }
                let foreign = try await answers(task.id)
                let missing = try await answers("tsk_doesnotexist")
                #expect(foreign == missing)
                #expect(foreign.allSatisfy { $0.hasPrefix("404 not_found") }, "\(foreign)")
                #expect(!foreign.joined().contains("999"), "the log sizes must not leak: \(foreign)")
                let stored = try await api.send(.get, "/api/v1/tasks/\(task.id)").decode(TaskRecord.self)
                #expect(stored.status == .assigned)
                #expect(stored.logBytes == 5)
            }
        }
    }
}
