import Foundation
import Logging
import OutpostCore
import OutpostTestSupport
import Testing

@testable import OutpostStore

/// A fixed instant: whole seconds survive the store's unix-seconds columns exactly.
let t0 = Date(timeIntervalSince1970: 1_700_000_000)

let quietLogger = Logger(label: "outpost.store.tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// The databases the store runs on; the store suite runs every test on each.
enum StoreBackend: String, CaseIterable, Sendable {
    case sqlite = "SQLite"
    case postgres = "PostgreSQL"

    /// SQLite always; PostgreSQL when the test command started its server (required on a full run).
    static var available: [StoreBackend] {
        if TestPostgres.isAvailable || TestPostgres.isRequired { return allCases }
        return [.sqlite]
    }

    /// The backend the current `withStore` body runs on, for failure messages.
    @TaskLocal static var current: StoreBackend?
}

/// Runs `body` on a fresh, migrated store of every available database in turn —
/// an in-memory SQLite database, then an empty schema on the test PostgreSQL
/// server — and shuts each down afterwards (also when `body` throws: a
/// connection must be closed before it is released). The same test, unchanged,
/// checks both implementations of the one store contract.
@discardableResult
func withStore<T>(_ body: (any SQLHubStore) async throws -> T) async throws -> T {
    var result: T?
    for backend in StoreBackend.available {
        result = try await StoreBackend.$current.withValue(backend) {
            try await withStore(on: backend, body)
        }
    }
    return result!
}

/// `withStore` on one database.
func withStore<T>(on backend: StoreBackend, _ body: (any SQLHubStore) async throws -> T) async throws -> T {
    switch backend {
    case .sqlite:
        return try await run(on: try await SQLiteHubStore.inMemory(logger: quietLogger), body)
    case .postgres:
        return try await TestPostgres.withSchema { settings in
            try await run(on: try await PostgresHubStore.connect(settings, logger: quietLogger), body)
        }
    }
}

private func run<T>(on store: any SQLHubStore, _ body: (any SQLHubStore) async throws -> T) async throws -> T {
    do {
        try await store.migrate()
        let result = try await body(store)
        await store.shutdown()
        return result
    } catch {
        await store.shutdown()
        throw BackendFailure(backend: StoreBackend.current, error: error)
    }
}

/// An error thrown on one database, naming it.
struct BackendFailure: Error, CustomStringConvertible {
    var backend: StoreBackend?
    var error: any Error
    var description: String { "on \(backend?.rawValue ?? "?"): \(error)" }
}

/// Expects `body` to throw a `StoreError` with `code`; returns it for further checks.
@discardableResult
func expectStoreError<T>(
    _ code: StoreError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async -> StoreError? {
    do {
        let value = try await body()
        Issue.record("expected StoreError \(code), got \(value) \(onBackend)", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        #expect(error.code == code, "message: \(error.message) \(onBackend)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected StoreError \(code), got \(error) \(onBackend)", sourceLocation: sourceLocation)
        return nil
    }
}

/// "(on PostgreSQL)", for failure messages.
var onBackend: String { "(on \(StoreBackend.current?.rawValue ?? "?"))" }

extension SQLHubStore {
    /// Registers an agent (creating its agent type on first use) and returns it.
    @discardableResult
    func seedAgent(
        id: String = Identifiers.make(prefix: "agt"), name: String? = nil, tags: TagSet = .empty,
        status: AgentRecord.Status = .online, tokenHash: String? = nil, at: Date = t0
    ) async throws -> AgentRecord {
        if try await agentType(named: "default") == nil {
            try await insertAgentType(
                AgentType(name: "default", createdAt: t0, tokenRotatedAt: t0), registrationTokenHash: "reg-hash-default")
        }
        let agent = AgentRecord(
            id: id, name: name ?? "agent-\(id)", type: "default", tags: tags, status: status, version: "1.0.0",
            os: "linux", concurrency: 2, providerFingerprint: "fp", registeredAt: at, lastSeenAt: at)
        try await insertAgent(agent, tokenHash: tokenHash ?? "token-hash-\(id)")
        return agent
    }

    /// Submits a task for target `local` and returns its record.
    @discardableResult
    func seedTask(
        id: String = Identifiers.make(prefix: "tsk"), createdAt: Date = t0, timeoutSeconds: Int = 60,
        tags: TagSet = .empty, script: String = "echo hi"
    ) async throws -> TaskRecord {
        let target = Target(name: "local", integration: "bash", tags: tags, env: ["GREETING": "hello"], createdAt: t0)
        let task = TaskRecord(
            id: id, target: target.name, createdAt: createdAt, timeoutSeconds: timeoutSeconds, createdBy: "admin")
        try await insertTask(
            task, assignment: TaskAssignment(taskID: id, target: target, script: script, timeoutSeconds: timeoutSeconds),
            tags: tags)
        return task
    }

    /// A task brought into `status` the way the hub would, with the agent that holds it
    /// (`nil` for a task that never left the queue).
    func seedTask(in status: TaskStatus, at: Date = t0) async throws -> (task: TaskRecord, agentID: String?) {
        let task = try await seedTask(createdAt: at)
        if status == .queued { return (task, nil) }
        if status == .cancelled {
            // Cancelled by its agent after a cancel request, the usual path.
            let agent = try await seedAgent()
            _ = try await claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: at)
            _ = try await requestCancel(id: task.id, at: at)
            let done = try await finishTask(
                id: task.id, agentID: agent.id,
                finish: FinishRequest(status: .cancelled, exitCode: 143, error: "cancelled", logBytes: 0), at: at)
            return (done, agent.id)
        }
        let agent = try await seedAgent()
        _ = try await claimTask(id: task.id, agentID: agent.id, agentName: agent.name, at: at)
        switch status {
        case .assigned:
            return (try #require(await self.task(id: task.id)), agent.id)
        case .running:
            return (try await startTask(id: task.id, agentID: agent.id, at: at), agent.id)
        case .lost:
            _ = try await markAgentOffline(id: agent.id, at: at, reason: "agent stopped sending heartbeats")
            return (try #require(await self.task(id: task.id)), agent.id)
        case .timedOut:
            _ = try await startTask(id: task.id, agentID: agent.id, at: at)
            _ = try await timeOutOverdueTasks(now: at.addingTimeInterval(3600), grace: 0)
            return (try #require(await self.task(id: task.id)), agent.id)
        default:
            _ = try await startTask(id: task.id, agentID: agent.id, at: at)
            let done = try await finishTask(
                id: task.id, agentID: agent.id,
                finish: FinishRequest(status: status, exitCode: status == .failed ? 1 : 0, error: nil, logBytes: 0), at: at)
            return (done, agent.id)
        }
    }
}

extension TaskStatus {
    static let terminal: [TaskStatus] = allCases.filter(\.isTerminal)
    static let active: [TaskStatus] = [.assigned, .running]
    /// Every status, in an order `seedTask(in:)` can follow in one store: `timedOut`
    /// first, as seeding it times out every task that is then assigned or running.
    static let seedingOrder: [TaskStatus] = [.timedOut] + allCases.filter { $0 != .timedOut }
}
