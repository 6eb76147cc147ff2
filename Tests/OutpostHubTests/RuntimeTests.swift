import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import OutpostCore
import OutpostTestSupport
import OutpostStore
import ServiceLifecycle
import Testing

@testable import OutpostHub

@Suite("Runtime")
struct RuntimeTests {
    private func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("outpost-hub-\(UUID().uuidString)").path
    }

    private var logger: Logger {
        var logger = Logger(label: "outpost.hub.test")
        logger.logLevel = .critical
        return logger
    }

    @Test("the first start creates an admin token, writes it 0600, and stores only its hash")
    func firstStartAdminToken() async throws {
        let directory = temporaryDirectory() + "/nested/data"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = HubConfiguration()
        configuration.dataDirectory = directory

        let first = try await HubRuntime.start(configuration: configuration, logger: logger)
        let token = try #require(first.firstStartAdminToken)
        #expect(token.hasPrefix("opa_"))
        let file = directory + "/admin-token"
        #expect(try String(contentsOfFile: file, encoding: .utf8) == token + "\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(FileManager.default.fileExists(atPath: directory + "/outpost.sqlite"))
        #expect(try await first.hub.store.apiToken(hash: TokenHasher.hash(token))?.role == "admin")
        await first.hub.store.shutdown()

        let second = try await HubRuntime.start(configuration: configuration, logger: logger)
        #expect(second.firstStartAdminToken == nil)
        await second.hub.store.shutdown()
    }

    @Test("ensureAgentType creates or rotates; ensureTarget creates only when absent")
    func ensureHelpers() async throws {
        try await TestHub.with { hub in
            let first = try await hub.runtime.ensureAgentType(named: "local")
            let second = try await hub.runtime.ensureAgentType(named: "local")
            #expect(first != second)
            #expect(try await hub.store.agentType(registrationTokenHash: TokenHasher.hash(first)) == nil)
            #expect(try await hub.store.agentType(registrationTokenHash: TokenHasher.hash(second))?.name == "local")

            try await hub.runtime.ensureTarget(Target(name: "local", integration: "bash"))
            try await hub.runtime.ensureTarget(Target(name: "local", integration: "python"))
            #expect(try await hub.store.target(named: "local")?.integration == "bash")
            await #expect(throws: (any Error).self) {
                try await hub.runtime.ensureTarget(Target(name: "bad name", integration: "bash"))
            }
        }
    }

    @Test("an invalid configuration or data directory fails start-up with a clear error")
    func startupErrors() async throws {
        var configuration = HubConfiguration()
        configuration.port = 70000
        await #expect(throws: HubError.self) {
            try await HubRuntime.start(configuration: configuration, logger: logger)
        }
        configuration = HubConfiguration()
        configuration.dataDirectory = "/proc/outpost-cannot-exist"
        do {
            _ = try await HubRuntime.start(configuration: configuration, logger: logger)
            Issue.record("start-up should have failed")
        } catch let error as HubError {
            #expect(error.code == .startup)
            #expect(error.message.contains("/proc/outpost-cannot-exist"))
        }
    }

    @Test("the services listen on a free port, answer, and stop quickly even with a poll waiting")
    func liveServices() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = HubConfiguration()
        configuration.dataDirectory = directory
        configuration.port = 0
        configuration.pollTimeout = .seconds(25)
        let runtime = try await HubRuntime.start(configuration: configuration, logger: logger)
        let adminToken = try #require(runtime.firstStartAdminToken)
        let registration = try await runtime.ensureAgentType(named: "local")
        try await runtime.ensureTarget(Target(name: "local", integration: "bash"))
        let group = ServiceGroup(services: runtime.services, logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let address = try #require(await runtime.listeningAddress())
            #expect(address.port != 0)
            #expect(address.url == "http://127.0.0.1:\(address.port)")

            let client = TestClient(host: "127.0.0.1", port: address.port)
            client.connect()
            #expect(try await client.get("/healthz").status == .ok)
            #expect(try await client.get("/readyz").status == .ok)
            let unauthorized = try await client.get("/api/v1/tasks")
            #expect(unauthorized.status == .unauthorized)
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(adminToken)"
            #expect(try await client.get("/api/v1/targets", headers: headers).status == .ok)

            // A second connection holds a long poll while the group shuts down.
            let registered = try await Self.register(port: address.port, token: registration)
            let pollClient = TestClient(host: "127.0.0.1", port: address.port)
            pollClient.connect()
            var pollHeaders = HTTPFields()
            pollHeaders[.authorization] = "Bearer \(registered.agentToken)"
            pollHeaders[.contentType] = "application/json"
            async let poll = pollClient.post(
                "/api/v1/agent/poll", headers: pollHeaders, body: ByteBuffer(string: #"{"free_slots":1}"#))
            #expect(await eventually { await runtime.hub.dispatcher.snapshot().waitingPolls == 1 })

            let stopping = ContinuousClock.now
            await group.triggerGracefulShutdown()
            let answer = try await poll
            #expect(answer.status == .ok)
            #expect(String(buffer: answer.body ?? ByteBuffer()) == #"{"assignments":[],"controls":[]}"#)
            try await tasks.next()
            #expect(ContinuousClock.now - stopping < .seconds(10))
            try? await client.shutdown()
            try? await pollClient.shutdown()
        }
    }

    @Test("a follower that disconnects leaves no watcher behind")
    func followerDisconnects() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = HubConfiguration()
        configuration.dataDirectory = directory
        configuration.port = 0
        let runtime = try await HubRuntime.start(configuration: configuration, logger: logger)
        let adminToken = try #require(runtime.firstStartAdminToken)
        try await runtime.ensureTarget(Target(name: "local", integration: "bash"))
        let task = try await runtime.hub.createTask(
            CreateTaskRequest(target: "local", script: "sleep 1"), createdBy: nil)
        let group = ServiceGroup(services: runtime.services, logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let address = try #require(await runtime.listeningAddress())
            let client = TestClient(host: "127.0.0.1", port: address.port)
            client.connect()
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(adminToken)"
            try await client.executeAndDontWaitForResponse(
                .init("/api/v1/tasks/\(task.id)/log?follow=true", method: .get, headers: headers))
            #expect(await eventually { runtime.hub.watchers.subscriptionCount == 1 })
            try await client.shutdown()
            #expect(await eventually { runtime.hub.watchers.subscriptionCount == 0 })
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }

    private static func register(port: Int, token: String) async throws -> RegisterResponse {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(token)"
            headers[.contentType] = "application/json"
            let body = try WireJSON.encoder().encode(
                RegisterRequest(name: nil, tags: .empty, version: "test", os: "linux", concurrency: 1))
            let response = try await client.post(
                "/api/v1/agent/register", headers: headers, body: ByteBuffer(bytes: body))
            return try WireJSON.decoder().decode(
                RegisterResponse.self, from: Data((response.body ?? ByteBuffer()).readableBytesView))
        }
    }
}
