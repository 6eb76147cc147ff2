import Foundation
import HTTPTypes
import HummingbirdTesting
import OutpostCore
import Testing

@testable import OutpostHub

/// Bad input of every kind is a 4xx with a JSON error body, never a 5xx.
@Suite("Malformed requests")
struct MalformedRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        enum Token: Sendable { case admin, registration, agent }

        var method: HTTPRequest.Method
        /// `{task}` is replaced by a real task id held by the test's agent.
        var path: String
        var body: String?
        var contentType: String? = "application/json"
        var token: Token = .admin
        var status: Int
        var code: String

        var testDescription: String { "\(method.rawValue) \(path) \(body ?? "") → \(status) \(code)" }
    }

    static let cases: [Case] = [
        // Targets
        Case(method: .post, path: "/api/v1/targets", body: "{", status: 400, code: "invalid_request"),
        Case(method: .post, path: "/api/v1/targets", body: "[]", status: 400, code: "invalid_request"),
        Case(method: .post, path: "/api/v1/targets", body: "", status: 400, code: "invalid_request"),
        Case(method: .post, path: "/api/v1/targets", body: "null", status: 400, code: "invalid_request"),
        Case(method: .post, path: "/api/v1/targets", body: #"{"name":"x"}"#, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":5,"integration":"bash"}"#, status: 400,
            code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":"bad name","integration":"bash"}"#, status: 400,
            code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":"ok","integration":""}"#, status: 400,
            code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash","tags":["a b"]}"#,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash","tags":"prod"}"#,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash","env":{"1X":"v"}}"#,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash","timeout_seconds":0}"#,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets",
            body: #"{"name":"ok","integration":"bash","secrets":[{"provider":"env"}]}"#, status: 400,
            code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets",
            body: #"{"name":"ok","integration":"bash","created_at":"yesterday"}"#,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash"}"#,
            contentType: "text/plain", status: 415, code: "unsupported_media_type"),
        Case(
            method: .post, path: "/api/v1/targets", body: #"{"name":"local","integration":"bash"}"#, status: 409,
            code: "conflict"),
        Case(method: .get, path: "/api/v1/targets/nope", status: 404, code: "not_found"),
        Case(method: .delete, path: "/api/v1/targets/nope", status: 404, code: "not_found"),
        Case(method: .put, path: "/api/v1/targets", body: "{}", status: 405, code: "method_not_allowed"),
        // Tasks
        Case(
            method: .post, path: "/api/v1/tasks", body: #"{"target":"nope","script":"echo"}"#, status: 404,
            code: "not_found"),
        Case(
            method: .post, path: "/api/v1/tasks", body: #"{"target":"local","script":""}"#, status: 400,
            code: "invalid_request"),
        Case(method: .post, path: "/api/v1/tasks", body: #"{"target":"local"}"#, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/tasks", body: #"{"target":"local","script":"x","timeout_seconds":999999999}"#,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/tasks", body: #"{"target":"local","script":"x","timeout_seconds":"10"}"#,
            status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks?status=bogus", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks?limit=0", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks?limit=abc", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks?limit=5000", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks?limit=1&limit=2", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/tsk_nope", status: 404, code: "not_found"),
        Case(method: .get, path: "/api/v1/tasks/{task}?wait=-1", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/{task}?wait=abc", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/{task}?wait=61", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/{task}?wait=nan", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/{task}/log?offset=-1", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/{task}/log?offset=99", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/{task}/log?follow=maybe", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/tsk_nope/log", status: 404, code: "not_found"),
        Case(method: .post, path: "/api/v1/tasks/tsk_nope/cancel", status: 404, code: "not_found"),
        Case(method: .get, path: "/api/v1/tasks/{task}/cancel", status: 405, code: "method_not_allowed"),
        // Agents and types
        Case(method: .get, path: "/api/v1/agents?all=maybe", status: 400, code: "invalid_request"),
        // Booleans are `true` or `false`, as openapi.yaml says (schemathesis found `?all=` taken as true).
        Case(method: .get, path: "/api/v1/agents?all=", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/agents?all=1", status: 400, code: "invalid_request"),
        Case(method: .get, path: "/api/v1/tasks/{task}/log?follow=", status: 400, code: "invalid_request"),
        Case(method: .post, path: "/api/v1/agent-types", body: #"{"name":""}"#, status: 400, code: "invalid_request"),
        Case(method: .post, path: "/api/v1/agent-types", body: #"{"name":"test"}"#, status: 409, code: "conflict"),
        Case(method: .post, path: "/api/v1/agent-types/nope/rotate-token", status: 404, code: "not_found"),
        // Unknown routes
        Case(method: .get, path: "/api/v1/nope", status: 404, code: "not_found"),
        Case(method: .get, path: "/nope", status: 404, code: "not_found"),
        // Agent protocol
        Case(
            method: .post, path: "/api/v1/agent/register",
            body:
                #"{"tags":[],"version":"1","os":"linux","concurrency":0,"provider_fingerprint":"","protocol_version":1}"#,
            token: .registration, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/register",
            body:
                #"{"tags":[],"version":"1","os":"linux","concurrency":1,"provider_fingerprint":"","protocol_version":99}"#,
            token: .registration, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/register",
            body:
                #"{"name":"short","tags":[],"version":"1","os":"linux","concurrency":1,"provider_fingerprint":"","protocol_version":1}"#,
            token: .registration, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/register",
            body:
                #"{"name":"test-agent-1","tags":[],"version":"1","os":"linux","concurrency":1,"provider_fingerprint":"","protocol_version":1}"#,
            token: .registration, status: 409, code: "name_in_use"),
        Case(
            method: .post, path: "/api/v1/agent/register", body: "{}", token: .registration, status: 400,
            code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/poll", body: "{}", token: .agent, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/poll", body: #"{"free_slots":-1}"#, token: .agent, status: 400,
            code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/poll", body: #"{"free_slots":1,"running":"x"}"#, token: .agent,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/{task}/log", body: "x", contentType: nil, token: .agent,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/{task}/log?offset=x", body: "x", contentType: nil, token: .agent,
            status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/{task}/log?offset=5", body: "x", contentType: nil, token: .agent,
            status: 409, code: "log_gap"),
        Case(method: .post, path: "/api/v1/agent/tasks/tsk_nope/start", token: .agent, status: 404, code: "not_found"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/tsk_nope/log?offset=0", body: "x", contentType: nil,
            token: .agent, status: 404, code: "not_found"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/{task}/finish", body: #"{"status":"running","log_bytes":0}"#,
            token: .agent, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/{task}/finish", body: #"{"status":"lost","log_bytes":0}"#,
            token: .agent, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/{task}/finish", body: #"{"status":"done","log_bytes":0}"#,
            token: .agent, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/{task}/finish", body: #"{"status":"succeeded","log_bytes":-1}"#,
            token: .agent, status: 400, code: "invalid_request"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/{task}/finish", body: #"{"status":"succeeded","log_bytes":10}"#,
            token: .agent, status: 409, code: "log_incomplete"),
        Case(
            method: .post, path: "/api/v1/agent/tasks/tsk_nope/finish", body: #"{"status":"succeeded","log_bytes":0}"#,
            token: .agent, status: 404, code: "not_found"),
    ]

    @Test("bad input gets the fitting 4xx and a JSON error body", arguments: cases)
    func badInput(_ badCase: Case) async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let registration = try await hub.registrationToken()
                let agent = try await SimAgent.register(api, registrationToken: registration, name: "test-agent-1")
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.count == 1)

                let path = badCase.path.replacingOccurrences(of: "{task}", with: task.id)
                let token: API.Token =
                    switch badCase.token {
                    case .admin: .admin
                    case .registration: .bearer(registration)
                    case .agent: .bearer(agent.token)
                    }
                let reply = try await api.send(
                    badCase.method, path, token: token, body: badCase.body,
                    contentType: badCase.body == nil ? nil : badCase.contentType)
                #expect(Int(reply.status.code) == badCase.status, "\(reply.text)")
                #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true)
                let error = try #require(reply.error, "not a JSON error body: \(reply.text)")
                #expect(error.code == badCase.code)
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test("a body past the size limit is refused with 413")
    func tooLarge() async throws {
        try await TestHub.with(configure: { $0.maxScriptBytes = 1024 }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let big = String(repeating: "x", count: 200 * 1024)
                let reply = try await api.send(.post, "/api/v1/tasks", json: ["target": "local", "script": big])
                #expect(reply.status == .contentTooLarge)
                #expect(reply.error?.code == "too_large")
                let over = String(repeating: "x", count: 2000)
                let script = try await api.send(.post, "/api/v1/tasks", json: ["target": "local", "script": over])
                #expect(script.status == .badRequest)
                #expect(script.error?.message.contains("at most 1024") == true)
            }
        }
    }
}
