import Foundation
package import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization

/// The replicas of one hub on one PostgreSQL database, talking through
/// `LISTEN/NOTIFY` and electing a leader with a session advisory lock.
///
/// Sending: `publish` only queues lines. One sender at a time turns everything
/// queued into a single `SELECT pg_notify(...)` statement in its own short
/// transaction, never inside a data transaction; lines published while it runs
/// wait for the next one. So there is at most one NOTIFY transaction in flight per
/// replica, however many tasks are submitted (a notify per row capped Oban at
/// 698 inserts/s; NOTIFY's commit lock caused Recall.ai's outages; River debounces).
///
/// Listening and leading: one dedicated connection LISTENs and, on the replica
/// that wins `pg_try_advisory_lock`, holds the leader lock. If that connection
/// drops, PostgreSQL releases the lock at once and another replica takes it at its
/// next try; this replica reconnects, says `.resync` (it may have missed
/// messages) and tries again.
package final class PostgresClusterChannel: ClusterChannel {
    package let replicaID: String
    package let messages: AsyncStream<ClusterMessage>
    private let continuation: AsyncStream<ClusterMessage>.Continuation
    private let store: PostgresHubStore
    private let notify: Bool
    private let logger: Logger
    private let outbox = Mutex(Outbox())
    /// Whether this replica's cluster session holds the leader lock.
    private let leading = Mutex(false)

    /// The one channel every replica listens on.
    static let channelName = "outpost_events"
    /// PostgreSQL refuses payloads of 8,000 bytes or more; stay clear of it.
    static let maxPayloadBytes = 7_000

    private struct Outbox {
        /// Lines waiting to be sent, in order, each once.
        var pending: [String] = []
        var pendingSet: Set<String> = []
        var isSending = false
        /// Statements sent, for the bench and tests.
        var notifyStatements = 0
    }

    /// - Parameter notify: `false` sends nothing and listens to nothing (behind a
    ///   PgBouncer in transaction mode, where LISTEN cannot work): the other
    ///   replicas then find changes at their next reconciliation only.
    package init(store: PostgresHubStore, notify: Bool = true, logger: Logger) {
        self.store = store
        self.notify = notify
        self.logger = logger
        replicaID = "r" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        (messages, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// NOTIFY statements sent so far (each carries every line queued since the last).
    package var notifyStatementCount: Int { outbox.withLock { $0.notifyStatements } }

    package func publish(_ lines: [String]) {
        guard notify, !lines.isEmpty else { return }
        let startSender = outbox.withLock { box -> Bool in
            for line in lines where box.pendingSet.insert(line).inserted { box.pending.append(line) }
            guard !box.isSending else { return false }
            box.isSending = true
            return true
        }
        if startSender { Task { await self.sendPending() } }
    }

    /// Sends what is queued, again and again, until nothing is left.
    private func sendPending() async {
        while true {
            let lines = outbox.withLock { box -> [String] in
                let lines = box.pending
                box.pending = []
                box.pendingSet = []
                if lines.isEmpty { box.isSending = false }
                return lines
            }
            guard !lines.isEmpty else { return }
            let payloads = Self.payloads(from: replicaID, lines: lines)
            do {
                try await store.autocommit("notifying the other replicas") { db in
                    let calls = payloads.map { payload -> SQLQueryString in
                        "pg_notify(\(literal: Self.channelName), \(bind: payload))"
                    }
                    try await db.raw("SELECT \(calls.joined(separator: ", "))").run()
                }
                outbox.withLock { $0.notifyStatements += 1 }
            } catch {
                // The other replicas will find the change at their next reconciliation.
                logger.warning("could not notify the other replicas", metadata: ["error": "\(error)"])
            }
        }
    }

    /// `lines` split into payloads under the size limit, each starting with the sender's id.
    static func payloads(from sender: String, lines: [String]) -> [String] {
        var payloads: [String] = []
        var current = sender
        for line in lines {
            if current.utf8.count + 1 + line.utf8.count > maxPayloadBytes, current != sender {
                payloads.append(current)
                current = sender
            }
            current += "\n" + line
        }
        if current != sender { payloads.append(current) }
        return payloads
    }

    /// The lines of a payload another replica sent; `nil` for this replica's own.
    static func lines(of payload: String, receivedBy replicaID: String) -> [String]? {
        var lines = payload.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty, lines.removeFirst() != replicaID else { return nil }
        return lines
    }

    // MARK: Listening and leading

    package func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await session()
            } catch {
                if Task.isCancelled { break }
                failures += 1
                logger.warning(
                    "lost the cluster connection to PostgreSQL; reconnecting",
                    metadata: ["error": "\(PostgresFailure.describe(error))", "attempt": "\(failures)"])
            }
            if leading.withLock({ was in defer { was = false }; return was }) {
                logger.notice("no longer the leader replica")
                continuation.yield(.leadership(false))
            }
            try? await Task.sleep(for: .milliseconds(min(5_000, 250 * (1 << min(failures, 5)))))
        }
        continuation.finish()
    }

    /// One connection's life: listen, and try for (or keep) the leader lock every
    /// check interval, until the connection fails. Only ever ends by throwing.
    private func session() async throws {
        let connection = try await withDeadline(ClusterTiming.queryDeadline + store.settings.connectTimeout) {
            [store] in try await store.dedicatedConnection()
        }
        defer { Task { await connection.close() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            if notify {
                let notifications = try await withDeadline(ClusterTiming.queryDeadline) {
                    try await connection.connection.listen(Self.channelName)
                }
                let replicaID = replicaID
                let continuation = continuation
                group.addTask {
                    for try await notification in notifications {
                        if let lines = Self.lines(of: notification.payload, receivedBy: replicaID), !lines.isEmpty {
                            continuation.yield(.lines(lines))
                        }
                    }
                    throw PostgresConnectionPoolFailure(description: "the notification stream ended")
                }
            }
            // Listening from now on: whatever was sent before may have been missed.
            continuation.yield(.resync)
            group.addTask { try await self.lead(on: connection) }
            // Both children only end by failing: the first failure ends the session.
            try await group.next()
            group.cancelAll()
        }
    }

    /// Tries for the leader lock until it holds it, then checks every interval that
    /// the session (and so the lock) is still alive.
    private func lead(on connection: GuardedConnection) async throws {
        let sql = connection.sql()
        let lockKey = PostgresAdvisoryLock.leader.key
        while true {
            if leading.withLock({ $0 }) {
                try await withDeadline(ClusterTiming.queryDeadline) { try await sql.raw("SELECT 1").run() }
            } else {
                let won = try await withDeadline(ClusterTiming.queryDeadline) {
                    try await sql.raw("SELECT pg_try_advisory_lock(\(literal: lockKey)) AS won").first()?
                        .decode(column: "won", as: Bool.self) ?? false
                }
                if won {
                    leading.withLock { $0 = true }
                    logger.notice("this replica is now the leader (sweeper, timeouts, retention)")
                    continuation.yield(.leadership(true))
                }
            }
            try await Task.sleep(for: ClusterTiming.leaderCheckInterval)
        }
    }
}
