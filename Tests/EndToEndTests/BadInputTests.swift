import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Bad input gets a clear 4xx JSON error or exit code 2, never a 5xx or a hang.
@Suite("Bad input", .serialized)
struct BadInputTests {
    struct BadRequest: Sendable, CustomStringConvertible {
        var method: HTTPMethod
        var path: String
        var body: String?
        var auth: Auth = .admin
        var expected: Int
        enum Auth: Sendable { case admin, none, garbage }
        var description: String { "\(method) \(path) \(body ?? "")" }
    }

    static let requests: [BadRequest] = [
        BadRequest(method: .POST, path: "/api/v1/targets", body: "{not json", expected: 400),
        BadRequest(method: .POST, path: "/api/v1/targets", body: "{}", expected: 400),
        BadRequest(method: .POST, path: "/api/v1/targets", body: #"{"name":"","integration":"bash"}"#, expected: 400),
        BadRequest(method: .POST, path: "/api/v1/targets", body: #"{"name":"x y","integration":"bash"}"#, expected: 400),
        BadRequest(method: .POST, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash","tags":"prod"}"#, expected: 400),
        BadRequest(method: .POST, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash","env":{"1BAD":"x"}}"#, expected: 400),
        BadRequest(method: .POST, path: "/api/v1/targets", body: "[1,2,3]", expected: 400),
        BadRequest(method: .POST, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash"}"#, auth: .none, expected: 401),
        BadRequest(method: .POST, path: "/api/v1/targets", body: #"{"name":"ok","integration":"bash"}"#, auth: .garbage, expected: 401),
        BadRequest(method: .GET, path: "/api/v1/targets/does-not-exist", expected: 404),
        BadRequest(method: .POST, path: "/api/v1/tasks", body: #"{"target":"nope","script":"true"}"#, expected: 404),
        BadRequest(method: .POST, path: "/api/v1/tasks", body: #"{"target":"known","script":"true","timeout_seconds":-5}"#, expected: 400),
        BadRequest(method: .POST, path: "/api/v1/tasks", body: #"{"target":"known","script":"true","timeout_seconds":"soon"}"#, expected: 400),
        BadRequest(method: .POST, path: "/api/v1/tasks", body: #"{"target":"known"}"#, expected: 400),
        BadRequest(method: .GET, path: "/api/v1/tasks/tsk_missing", expected: 404),
        BadRequest(method: .GET, path: "/api/v1/tasks/tsk_missing/log", expected: 404),
        BadRequest(method: .GET, path: "/api/v1/tasks?status=bogus", expected: 400),
        BadRequest(method: .GET, path: "/api/v1/tasks?limit=many", expected: 400),
        BadRequest(method: .GET, path: "/api/v1/tasks/tsk_missing?wait=forever", expected: 400),
        BadRequest(method: .POST, path: "/api/v1/tasks/tsk_missing/cancel", expected: 404),
        BadRequest(method: .POST, path: "/api/v1/agent-types", body: #"{"name":"default"}"#, expected: 409),
        BadRequest(method: .POST, path: "/api/v1/agent/register", body: #"{"tags":[]}"#, expected: 401),
        BadRequest(method: .POST, path: "/api/v1/agent/poll", body: #"{"free_slots":1}"#, expected: 401),
        BadRequest(method: .POST, path: "/api/v1/agent/tasks/x/log?offset=0", body: "hi", expected: 401),
        BadRequest(method: .GET, path: "/api/v1/no-such-thing", expected: 404),
    ]

    @Test("malformed API requests get a 4xx JSON error, never a 5xx")
    func malformedRequests() async throws {
        // One hub for the whole table: starting one per row would be slow.
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        _ = try await cluster.client.createTarget(Target(name: "known", integration: "bash"))
        for bad in Self.requests {
            try await check(bad, against: cluster)
        }
    }

    private func check(_ bad: BadRequest, against cluster: Cluster) async throws {
        var request = HTTPClientRequest(url: cluster.hub.url + bad.path)
        request.method = bad.method
        switch bad.auth {
        case .admin: request.headers.add(name: "Authorization", value: "Bearer \(cluster.hub.adminToken)")
        case .garbage: request.headers.add(name: "Authorization", value: "Bearer opa_not-a-real-token")
        case .none: break
        }
        if let body = bad.body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        #expect(Int(response.status.code) == bad.expected, "\(bad): \(String(buffer: body))")
        let decoded = try? WireJSON.decoder().decode(APIErrorBody.self, from: Data(body.readableBytesView))
        #expect(decoded != nil, "\(bad): not an error JSON body: \(String(buffer: body))")
        #expect(decoded?.error.message.isEmpty == false)
    }

    /// Unloaded this takes about 40 ms; the bound only tells "exits promptly" from "hangs"
    /// while the rest of the suite loads both cores.
    @Test("a malformed agent config file is exit code 2 naming the file line and key, promptly")
    func badAgentConfig() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("agent.yaml")
        try "hub: http://127.0.0.1:1\ntoken: abc\nconcurrency: lots\n".write(toFile: file, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        let agent = try ChildProcess(["agent", "start", "--config-file", file])
        let code = await agent.waitForExit(timeout: .seconds(10))
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(code == 2)
        #expect(agent.stderr.contains("agent.yaml:3: concurrency:"), "stderr: \(agent.stderr)")
    }

    @Test(
        "bad agent flags and environment are exit code 2 naming the key",
        arguments: [
            (["--name", "short"], [String: String](), "8 to 80"),
            (["--name", String(repeating: "a", count: 81)], [:], "8 to 80"),
            (["--concurrency", "0"], [:], "concurrency"),
            ([], ["OUTPOST_AGENT_CONCURRENCY": "many"], "OUTPOST_AGENT_CONCURRENCY"),
            (["--tags", "ok,bad tag"], [:], "tags"),
            ([], ["OUTPOST_AGENT_KILL_GRACE": "soon"], "OUTPOST_AGENT_KILL_GRACE"),
        ])
    func badAgentFlags(_ arguments: [String], _ environment: [String: String], _ expected: String) async throws {
        let agent = try ChildProcess(
            ["agent", "start", "--hub", "http://127.0.0.1:1", "--token", "abc"] + arguments,
            environment: ChildProcess.baseEnvironment(environment))
        #expect(await agent.waitForExit(timeout: .seconds(10)) == 2)
        #expect(agent.stderr.contains(expected), "stderr: \(agent.stderr)")
    }

    @Test("a YAML syntax error names the line")
    func yamlSyntaxError() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.file("server.yaml")
        try "listen: 127.0.0.1:0\ndata_dir: [unclosed\n".write(toFile: file, atomically: true, encoding: .utf8)
        let server = try ChildProcess(["server", "--config-file", file])
        #expect(await server.waitForExit(timeout: .seconds(10)) == 2)
        #expect(server.stderr.contains("server.yaml:"), "stderr: \(server.stderr)")
    }
}

