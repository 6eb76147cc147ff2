import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Synchronization
import Testing

@testable import OutpostHub

extension ManualClock {
    /// The test support's manual clock as the hub's wall clock.
    var hubClock: HubClock { HubClock { [self] in date } }
}

/// A hub on an in-memory SQLite store with a manual clock, reached through
/// Hummingbird's router test client (requests go through the real router,
/// middleware and handlers, without sockets).
struct TestHub: Sendable {
    let runtime: HubRuntime
    let clock: ManualClock
    let adminToken: String

    var hub: Hub { runtime.hub }
    var store: any HubStore { runtime.hub.store }

    static func start(
        clock: ManualClock = ManualClock(), logs: CapturedLogs? = nil,
        _ configure: (inout HubConfiguration) -> Void = { _ in }
    ) async throws -> TestHub {
        var configuration = HubConfiguration()
        configuration.port = 0
        configure(&configuration)
        var logger = logs?.logger ?? Logger(label: "outpost.hub.test")
        if logs == nil { logger.logLevel = .critical }
        let store = try await SQLiteHubStore.inMemory(logger: logger)
        let runtime = try await HubRuntime.start(
            configuration: configuration, store: store, clock: clock.hubClock, logger: logger, adminTokenFile: nil)
        let token = try #require(runtime.firstStartAdminToken)
        return TestHub(runtime: runtime, clock: clock, adminToken: token)
    }

    func stop() async {
        await hub.shutdownClients()
        await hub.store.shutdown()
    }

    /// Runs `body` on a fresh hub and stops the hub afterwards, also when `body` throws.
    static func with<T>(
        clock: ManualClock = ManualClock(), logs: CapturedLogs? = nil,
        configure: (inout HubConfiguration) -> Void = { _ in },
        _ body: (TestHub) async throws -> T
    ) async throws -> T {
        let hub = try await start(clock: clock, logs: logs, configure)
        do {
            let result = try await body(hub)
            await hub.stop()
            return result
        } catch {
            await hub.stop()
            throw error
        }
    }

    /// Runs `body` with an API client on the router.
    func withAPI<T: Sendable>(_ body: @Sendable (API) async throws -> T) async throws -> T {
        let app = Application(responder: runtime.responder)
        let adminToken = adminToken
        return try await app.test(.router) { client in
            try await body(API(client: client, adminToken: adminToken))
        }
    }

    /// An agent type's registration token.
    func registrationToken(type: String = "test") async throws -> String {
        try await runtime.ensureAgentType(named: type)
    }

    /// Creates a target through the API.
    func createTarget(_ api: API, name: String, tags: [String] = [], timeout: Int? = nil) async throws {
        var body: [String: Any] = ["name": name, "integration": "bash", "tags": tags]
        if let timeout { body["timeout_seconds"] = timeout }
        let response = try await api.send(.post, "/api/v1/targets", json: body)
        #expect(response.status == .created, "creating target \(name): \(response.text)")
    }

    /// Submits a task through the API and returns it.
    func createTask(_ api: API, target: String, script: String = "echo hi", timeout: Int? = nil) async throws
        -> TaskRecord
    {
        var body: [String: Any] = ["target": target, "script": script]
        if let timeout { body["timeout_seconds"] = timeout }
        let response = try await api.send(.post, "/api/v1/tasks", json: body)
        #expect(response.status == .created, "creating a task: \(response.text)")
        return try response.decode(TaskRecord.self)
    }
}

/// A thin JSON client over HummingbirdTesting's client.
struct API: Sendable {
    let client: any TestClientProtocol
    let adminToken: String

    enum Token: Sendable {
        case admin
        case none
        case bearer(String)
        case header(String)
    }

    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: Token = .admin, json: [String: Any]? = nil,
        body: String? = nil, contentType: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        switch token {
        case .admin: headers[.authorization] = "Bearer \(adminToken)"
        case .none: break
        case .bearer(let value): headers[.authorization] = "Bearer \(value)"
        case .header(let value): headers[.authorization] = value
        }
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = "application/json"
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        if let contentType { headers[.contentType] = contentType }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: buffer)
        return Reply(response: response)
    }

    func send(_ method: HTTPRequest.Method, _ uri: String, token: Token = .admin, encodable: some Encodable)
        async throws -> Reply
    {
        var headers = HTTPFields()
        if case .bearer(let value) = token { headers[.authorization] = "Bearer \(value)" }
        if case .admin = token { headers[.authorization] = "Bearer \(adminToken)" }
        headers[.contentType] = "application/json"
        let data = try WireJSON.encoder().encode(encodable)
        let response = try await client.execute(
            uri: uri, method: method, headers: headers, body: ByteBuffer(bytes: data))
        return Reply(response: response)
    }

    func sendBytes(_ uri: String, token: String, bytes: [UInt8]) async throws -> Reply {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        headers[.contentType] = "application/octet-stream"
        let response = try await client.execute(
            uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
        return Reply(response: response)
    }
}

/// A response with helpers.
struct Reply: Sendable {
    let response: TestResponse

    var status: HTTPResponse.Status { response.status }
    var headers: HTTPFields { response.headers }
    var text: String { String(buffer: response.body) }
    var bytes: [UInt8] { Array(response.body.readableBytesView) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try WireJSON.decoder().decode(T.self, from: Data(response.body.readableBytesView))
    }

    /// The error body, if this is one.
    var error: APIErrorBody.Detail? { (try? decode(APIErrorBody.self))?.error }

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

/// An agent driven by the test through the real protocol routes.
struct SimAgent: Sendable {
    let id: String
    let name: String
    let token: String

    static func register(
        _ api: API, registrationToken: String, name: String? = nil, tags: [String] = [], concurrency: Int = 1
    ) async throws -> SimAgent {
        let request = RegisterRequest(
            name: name, tags: TagSet(tags), version: "test", os: "linux", concurrency: concurrency)
        let reply = try await api.send(
            .post, "/api/v1/agent/register", token: .bearer(registrationToken), encodable: request)
        #expect(reply.status == .created, "register: \(reply.text)")
        let response = try reply.decode(RegisterResponse.self)
        return SimAgent(id: response.agentID, name: response.name, token: response.agentToken)
    }

    func poll(_ api: API, running: [String] = [], freeSlots: Int = 1, draining: Bool = false) async throws
        -> PollResponse
    {
        let reply = try await api.send(
            .post, "/api/v1/agent/poll", token: .bearer(token),
            encodable: PollRequest(running: running, freeSlots: freeSlots, draining: draining))
        #expect(reply.status == .ok, "poll: \(reply.text)")
        return try reply.decode(PollResponse.self)
    }

    func start(_ api: API, _ taskID: String) async throws -> Reply {
        try await api.send(.post, "/api/v1/agent/tasks/\(taskID)/start", token: .bearer(token), body: "")
    }

    func appendLog(_ api: API, _ taskID: String, offset: Int64, _ text: String) async throws -> Reply {
        try await api.sendBytes(
            "/api/v1/agent/tasks/\(taskID)/log?offset=\(offset)", token: token, bytes: Array(text.utf8))
    }

    func finish(
        _ api: API, _ taskID: String, status: TaskStatus = .succeeded, exitCode: Int32? = 0, logBytes: Int64 = 0
    )
        async throws -> Reply
    {
        try await api.send(
            .post, "/api/v1/agent/tasks/\(taskID)/finish", token: .bearer(token),
            encodable: FinishRequest(status: status, exitCode: exitCode, error: nil, logBytes: logBytes))
    }
}

