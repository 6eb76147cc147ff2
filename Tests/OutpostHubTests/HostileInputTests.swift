import Foundation
import HTTPTypes
import OutpostCore
import Testing

@testable import OutpostHub

/// Numbers a hostile client picks, through the real router: each is refused with a
/// 4xx and the hub keeps answering (an arithmetic trap would end the whole process).
@Suite("Hostile numbers")
struct HostileInputTests {
    /// A hub with one target, one registered agent holding one task.
    private func withClaimedTask(
        _ body: @Sendable (TestHub, API, SimAgent, TaskRecord) async throws -> Void
    ) async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let task = try await hub.createTask(api, target: "local")
                #expect(try await agent.poll(api).assignments.map(\.taskID) == [task.id])
                try await body(hub, api, agent, task)
            }
        }
    }

    /// The hub still answers: a plain authenticated read.
    private func expectAlive(_ api: API, _ task: TaskRecord) async throws {
        let reply = try await api.send(.get, "/api/v1/tasks/\(task.id)")
        #expect(reply.status == .ok, "\(reply.text)")
    }

    @Test(
        "a log chunk at an offset near Int64.max is refused, for the agent's own task and any other id",
        arguments: [Int64.max, Int64.max - 1, Int64.max / 2])
    func logOffsetOverflow(offset: Int64) async throws {
        try await withClaimedTask { _, api, agent, task in
            let own = try await api.sendBytes(
                "/api/v1/agent/tasks/\(task.id)/log?offset=\(offset)", token: agent.token, bytes: Array("x".utf8))
            #expect(own.status == .contentTooLarge, "\(own.text)")
            #expect(own.error?.code == "log_too_large")
            let unknown = try await api.sendBytes(
                "/api/v1/agent/tasks/tsk_x/log?offset=\(offset)", token: agent.token, bytes: Array("x".utf8))
            #expect(unknown.status == .notFound, "\(unknown.text)")
            try await expectAlive(api, task)
            // The agent can still log normally.
            let next = try await agent.appendLog(api, task.id, offset: 0, "ok")
            #expect(next.status == .ok, "\(next.text)")
        }
    }

    @Test(
        "query numbers out of every range are a 400, never a trap",
        arguments: [
            "/api/v1/tasks?limit=9223372036854775807", "/api/v1/tasks?limit=-9223372036854775808",
            "/api/v1/tasks?limit=99999999999999999999", "/api/v1/tasks/{task}?wait=1e308",
            "/api/v1/tasks/{task}?wait=inf", "/api/v1/tasks/{task}/log?offset=9223372036854775807",
            "/api/v1/tasks/{task}/log?offset=-9223372036854775808",
        ])
    func queryNumbers(path: String) async throws {
        try await withClaimedTask { _, api, _, task in
            let reply = try await api.send(.get, path.replacingOccurrences(of: "{task}", with: task.id))
            #expect(reply.status == .badRequest, "\(reply.text)")
            #expect(reply.error?.code == "invalid_request")
            try await expectAlive(api, task)
        }
    }

    @Test(
        "numbers out of range in agent bodies are a 400 saying so",
        arguments: [
            (#"{"status":"succeeded","log_bytes":9223372036854775808}"#, "log_bytes"),
            (#"{"status":"succeeded","log_bytes":0,"exit_code":2147483648}"#, "exit_code"),
            (#"{"status":"succeeded","log_bytes":0,"exit_code":-2147483649}"#, "exit_code"),
            (#"{"status":"succeeded","log_bytes":1e400}"#, "log_bytes"),
        ] as [(String, String)])
    func finishNumbers(body: String, field: String) async throws {
        try await withClaimedTask { _, api, agent, task in
            let reply = try await api.send(
                .post, "/api/v1/agent/tasks/\(task.id)/finish", token: .bearer(agent.token), body: body,
                contentType: "application/json")
            #expect(reply.status == .badRequest, "\(reply.text)")
            let message = try #require(reply.error?.message)
            #expect(message.contains("field \"\(field)\" must be an integer"), "\(message)")
            try await expectAlive(api, task)
        }
    }

    @Test(
        "poll and register numbers past their bounds are a 400",
        arguments: [
            (#"{"free_slots":9223372036854775807}"#, "free_slots"),
            (#"{"free_slots":-9223372036854775808}"#, "free_slots"),
            (#"{"free_slots":1.5}"#, "free_slots"),
        ] as [(String, String)])
    func pollNumbers(body: String, field: String) async throws {
        try await withClaimedTask { _, api, agent, task in
            let reply = try await api.send(
                .post, "/api/v1/agent/poll", token: .bearer(agent.token), body: body, contentType: "application/json")
            #expect(reply.status == .badRequest, "\(reply.text)")
            #expect(reply.error?.message.contains(field) == true, "\(reply.text)")
            try await expectAlive(api, task)
        }
    }

    @Test(
        "register numbers past their bounds are a 400",
        arguments: [
            #""concurrency":9223372036854775807,"idle_timeout_seconds":10"#,
            #""concurrency":1,"idle_timeout_seconds":1e308"#,
            #""concurrency":1,"idle_timeout_seconds":-1"#,
            #""concurrency":1,"idle_timeout_seconds":1e400"#,
        ])
    func registerNumbers(fields: String) async throws {
        try await withClaimedTask { hub, api, _, task in
            let body = #"{"tags":[],"version":"1","os":"linux","protocol_version":1,"# + fields + "}"
            let reply = try await api.send(
                .post, "/api/v1/agent/register", token: .bearer(try await hub.registrationToken()), body: body,
                contentType: "application/json")
            #expect(reply.status == .badRequest, "\(reply.text)")
            try await expectAlive(api, task)
        }
    }

    @Test("a certificate signing request past 16,384 characters is a 400 naming csr")
    func oversizedCSR() async throws {
        try await withClaimedTask { hub, api, _, task in
            let csr = String(repeating: "0", count: 16_385)
            let body = #"{"tags":[],"version":"1","os":"linux","concurrency":1,"protocol_version":1,"csr":""# + csr + #""}"#
            let reply = try await api.send(
                .post, "/api/v1/agent/register", token: .bearer(try await hub.registrationToken()), body: body,
                contentType: "application/json")
            #expect(reply.status == .badRequest, "\(reply.text.prefix(300))")
            #expect(reply.error?.message.contains("csr") == true)
            try await expectAlive(api, task)
        }
    }
}
