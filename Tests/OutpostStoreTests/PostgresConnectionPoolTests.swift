import Foundation
import Logging
import OutpostTestSupport
import PostgresNIO
import SQLKit
import Synchronization
import Testing

@testable import OutpostStore

/// The pool on the test command's real server: limits, waiting, and sessions the
/// server ends under load.
@Suite("PostgreSQL connection pool", .postgresAvailable)
struct PostgresConnectionPoolTests {
    @Test("twenty callers on two connections: never more than two open or in use, every caller served")
    func limitHolds() async throws {
        let probe = PoolProbe()
        let pool = probe.pool(maximum: 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await pool.withConnection { connection in
                        probe.enter()
                        defer { probe.leave() }
                        try await connection.sql().raw("SELECT pg_sleep(0.02)").run()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(probe.opened == 2, "connections opened")
        #expect(probe.mostInUse == 2, "connections in use at once")
        #expect(await pool.counts == .init(connections: 2, waiting: 0))
        await pool.shutDown()
    }

    @Test("a connection idle for the idle timeout is closed and replaced, not reused")
    func idleConnectionsAreReplaced() async throws {
        let probe = PoolProbe()
        let pool = probe.pool(maximum: 2, idleTimeout: .milliseconds(200))
        try await pool.withConnection { try await $0.sql().raw("SELECT 1").run() }
        try await pool.withConnection { try await $0.sql().raw("SELECT 1").run() }
        #expect(probe.opened == 1, "a connection idle for less than the timeout is reused")
        try await Task.sleep(for: .milliseconds(300))
        try await pool.withConnection { try await $0.sql().raw("SELECT 1").run() }
        #expect(probe.opened == 2)
        #expect(await pool.counts == .init(connections: 1, waiting: 0))
        await pool.shutDown()
    }

    @Test("a caller that finds every connection busy fails after the lease timeout, saying so")
    func leaseTimeout() async throws {
        let pool = PoolProbe().pool(maximum: 1, leaseTimeout: .milliseconds(300))
        let holding = Task {
            try await pool.withConnection { _ in try await Task.sleep(for: .seconds(3)) }
        }
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        await #expect {
            try await pool.withConnection { _ in }
        } throws: { error in
            "\(error)".contains("every connection to the server stayed busy for 0.3 seconds")
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(await pool.counts == .init(connections: 1, waiting: 0), "the caller that gave up left the queue")
        holding.cancel()
        _ = await holding.result
        await pool.shutDown()
    }

    @Test("a waiting caller that is cancelled stops waiting at once and takes no connection")
    func cancelledWaiter() async throws {
        let pool = PoolProbe().pool(maximum: 1)
        let holding = Task {
            try await pool.withConnection { _ in try await Task.sleep(for: .seconds(3)) }
        }
        try await Task.sleep(for: .milliseconds(200))
        let waiter = Task { try await pool.withConnection { _ in } }
        try await Task.sleep(for: .milliseconds(100))
        #expect(await pool.counts.waiting == 1)
        let started = ContinuousClock.now
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(await pool.counts == .init(connections: 1, waiting: 0))
        holding.cancel()
        _ = await holding.result
        await pool.shutDown()
    }

    /// A statement sent on a connection whose socket has just closed is lost by
    /// PostgresNIO, and its caller waits for ever (`GuardedConnection`). Sessions
    /// ended every 50 ms while six callers share three connections make that race
    /// common: PostgresNIO's own pool hung in each of three tries, and so did this
    /// pool in each of six runs with its statements unguarded (1 to 6 calls hung).
    @Test("sessions ended again and again under load: every call ends within seconds, and the pool recovers")
    func sessionsEndedUnderLoad() async throws {
        let probe = PoolProbe()
        let pool = probe.pool(maximum: 3)
        let stop = StopFlag()
        let started = ContinuousClock.now
        let killer = Task {
            // At least 3 s and 20 sessions ended (a loaded machine ends fewer per second).
            var ended = 0
            while ContinuousClock.now - started < .seconds(3) || (ended < 20 && ContinuousClock.now - started < .seconds(30)) {
                let rows = try await TestPostgres.execute(
                    "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE application_name = '\(probe.tag)'")
                ended += rows.count
                try await Task.sleep(for: .milliseconds(50))
            }
            return ended
        }
        let outcomes = await withTaskGroup(of: Outcomes.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    var outcomes = Outcomes()
                    while !stop.isSet {
                        let result = await finishes(within: .seconds(10)) {
                            try await pool.withConnection { connection in
                                try await connection.sql().raw("SELECT pg_sleep(0.005)").run()
                            }
                        }
                        switch result {
                        case nil: outcomes.hung += 1
                        case true?: outcomes.succeeded += 1
                        case false?: outcomes.failed += 1
                        }
                        if result == nil { break }
                    }
                    return outcomes
                }
            }
            let ended = await killer.result
            stop.set()
            var total = Outcomes()
            for await outcomes in group { total.add(outcomes) }
            total.sessionsEnded = (try? ended.get()) ?? 0
            return total
        }
        #expect(outcomes.hung == 0, "calls that hung for 10 s: \(outcomes)")
        #expect(outcomes.sessionsEnded >= 20, "\(outcomes)")
        #expect(outcomes.succeeded > 0 && outcomes.failed > 0, "\(outcomes)")
        guard outcomes.hung == 0 else { return }
        // Recovered: a call succeeds, within the limit.
        try await pool.withConnection { connection in
            try await connection.sql().raw("SELECT 1").run()
        }
        #expect(await pool.counts.connections <= 3)
        #expect(await pool.counts.waiting == 0)
        await pool.shutDown()
    }

    @Test("an unreachable server fails every caller, waiting ones included, with the connect error")
    func unreachableServer() async throws {
        let pool = PostgresConnectionPool(maximum: 1) { id in
            var configuration = PostgresConnection.Configuration(
                host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: "none", tls: .disable)
            configuration.options.connectTimeout = .seconds(2)
            return try await PostgresConnection.connect(configuration: configuration, id: id, logger: quiet)
        }
        let started = ContinuousClock.now
        let failures = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    do {
                        try await pool.withConnection { _ in }
                        return nil
                    } catch {
                        return PostgresFailure.describe(error)
                    }
                }
            }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(failures.count == 5)
        #expect(failures.allSatisfy { $0?.hasPrefix("cannot connect") == true }, "\(failures)")
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(await pool.counts == .init(connections: 0, waiting: 0))
    }
}

private struct Outcomes: CustomStringConvertible {
    var succeeded = 0, failed = 0, hung = 0, sessionsEnded = 0

    mutating func add(_ other: Outcomes) {
        succeeded += other.succeeded
        failed += other.failed
        hung += other.hung
    }

    var description: String { "\(succeeded) calls succeeded, \(failed) failed, \(hung) hung; \(sessionsEnded) sessions ended" }
}

/// Whether `body` succeeded (`true`), failed (`false`) or was still running after
/// `limit` (`nil`). A call that hangs is left behind, unstructured, so that the
/// test fails instead of hanging with it (a task group would wait for it).
private func finishes(within limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async -> Bool? {
    let outcome = FirstAnswer()
    return await withCheckedContinuation { continuation in
        outcome.wait(continuation)
        let timer = Task {
            try? await Task.sleep(for: limit)
            outcome.give(nil)
        }
        Task {
            outcome.give((try? await body()) != nil)
            timer.cancel()
        }
    }
}

/// Resumes its continuation once, with the first answer given.
private final class FirstAnswer: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool?, Never>?>(nil)

    func wait(_ continuation: CheckedContinuation<Bool?, Never>) { self.continuation.withLock { $0 = continuation } }
    func give(_ answer: Bool?) { continuation.withLock { $0.take() }?.resume(returning: answer) }
}

private final class StopFlag: Sendable {
    private let flag = Atomic(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

private let quiet = Logger(label: "outpost.test.pool", factory: { _ in SwiftLogNoOpLogHandler() })

/// Makes pools on the test server whose sessions carry a name of their own (to end
/// them from outside), and counts what they open and use at once.
private final class PoolProbe: Sendable {
    let tag = "outpost-pool-test-" + UUID().uuidString.prefix(8).lowercased()
    private let numbers = Mutex((opened: 0, inUse: 0, mostInUse: 0))

    var opened: Int { numbers.withLock { $0.opened } }
    var mostInUse: Int { numbers.withLock { $0.mostInUse } }

    func enter() {
        numbers.withLock {
            $0.inUse += 1
            $0.mostInUse = max($0.mostInUse, $0.inUse)
        }
    }

    func leave() { numbers.withLock { $0.inUse -= 1 } }

    func pool(maximum: Int, leaseTimeout: Duration = .seconds(60), idleTimeout: Duration = .seconds(60))
        -> PostgresConnectionPool
    {
        let settings = TestPostgres.settings()!
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: .disable)
        configuration.options.additionalStartupParameters = [("application_name", tag)]
        let connect = configuration
        return PostgresConnectionPool(maximum: maximum, leaseTimeout: leaseTimeout, idleTimeout: idleTimeout) { id in
            let connection = try await PostgresConnection.connect(configuration: connect, id: id, logger: quiet)
            self.numbers.withLock { $0.opened += 1 }
            return connection
        }
    }
}
