package import Foundation
import SQLKit

/// Stores that can be filled with history quickly, for benchmarks and for the tests
/// that check the dispatch path's query plans against a large history. Not used by
/// the hub: the rows it writes skip every check the real operations make.
package protocol BenchmarkSeeding: HubStore {
    /// Inserts `count` finished tasks (mostly `succeeded`, a few of each other terminal
    /// status) for target `benchmark`, the i-th created at `createdAt + i * spacing`
    /// and finished a second later, held by `agent` when given. Rows are generated
    /// by the database, 10,000 per transaction; the database's planner
    /// statistics are refreshed afterwards where the hub relies on them (PostgreSQL,
    /// whose autovacuum would do the same within minutes). Returns the ids' prefix:
    /// the i-th task's id is the prefix followed by i.
    @discardableResult
    func seedFinishedTasksForBenchmark(
        count: Int, createdAt: Date, spacing: TimeInterval, agent: (id: String, name: String)?
    ) async throws(StoreError) -> String

    /// Inserts `count` offline agents of type `benchmark` (created if missing), last
    /// seen at `lastSeenAt`: the agent history a long-running hub accumulates. Returns
    /// the ids' prefix: the i-th agent's id is the prefix followed by i.
    @discardableResult
    func seedOfflineAgentsForBenchmark(count: Int, lastSeenAt: Date) async throws(StoreError) -> String
}

extension BenchmarkSeeding {
    /// One finished task a second from `createdAt`, held by no agent.
    @discardableResult
    package func seedFinishedTasksForBenchmark(count: Int, createdAt: Date) async throws(StoreError) -> String {
        try await seedFinishedTasksForBenchmark(count: count, createdAt: createdAt, spacing: 1, agent: nil)
    }
}

extension SQLiteHubStore: BenchmarkSeeding {}
extension PostgresHubStore: BenchmarkSeeding {}

/// Rows per statement and transaction: a million take a hundred transactions, and none
/// holds the database (or, on SQLite, the calling thread) for more than a fraction of
/// a second, so a test seeding history does not stall the tests running beside it.
private let seedBatchSize = 10_000

extension SQLHubStore {
    @discardableResult
    package func seedFinishedTasksForBenchmark(
        count: Int, createdAt: Date, spacing: TimeInterval, agent: (id: String, name: String)?
    ) async throws(StoreError) -> String {
        let prefix = "tsk_seed_\(UUID().uuidString.prefix(8).lowercased())_"
        var first = 0
        while first < count {
            let end = min(count, first + seedBatchSize)
            // A recursive counter makes the rows inside the database: no million binds
            // on the wire. Statuses: 1 in 20 each failed, cancelled, timed_out, lost, rejected.
            try await write("seeding finished tasks \(first)..<\(end)") { db in
                try await db.raw(
                    """
                    WITH RECURSIVE n(i) AS (
                        SELECT \(bind: first) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < \(bind: end)
                    )
                    INSERT INTO tasks (id, target, status, tags, assignment, agent_id, agent_name, exit_code, error,
                        created_at, assigned_at, started_at, finished_at, timeout_seconds, created_by)
                    SELECT \(bind: prefix) || CAST(i AS TEXT), 'benchmark',
                        CASE i % 20 WHEN 1 THEN 'failed' WHEN 2 THEN 'cancelled' WHEN 3 THEN 'timed_out'
                            WHEN 4 THEN 'lost' WHEN 5 THEN 'rejected' ELSE 'succeeded' END,
                        '', '{}', \(bind: agent?.id), \(bind: agent?.name),
                        CASE i % 20 WHEN 1 THEN 1 ELSE 0 END, NULL,
                        \(bind: createdAt.unixSeconds) + i * \(bind: spacing),
                        \(bind: createdAt.unixSeconds) + i * \(bind: spacing),
                        \(bind: createdAt.unixSeconds) + i * \(bind: spacing),
                        \(bind: createdAt.unixSeconds + 1) + i * \(bind: spacing),
                        600, 'benchmark'
                    FROM n
                    """
                ).run()
            }
            first = end
        }
        try await refreshStatistics()
        return prefix
    }

    @discardableResult
    package func seedOfflineAgentsForBenchmark(count: Int, lastSeenAt: Date) async throws(StoreError) -> String {
        let prefix = "agt_seed_\(UUID().uuidString.prefix(8).lowercased())_"
        let at = lastSeenAt.unixSeconds
        try await write("seeding \(count) offline agents") { db in
            try await db.raw(
                """
                INSERT INTO agent_types (name, registration_token_hash, created_at, token_rotated_at)
                VALUES ('benchmark', \(bind: prefix + "registration"), \(bind: at), \(bind: at))
                ON CONFLICT DO NOTHING
                """
            ).run()
            guard count > 0 else { return }
            try await db.raw(
                """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < \(bind: count))
                INSERT INTO agents (id, name, type, tags, status, version, os, concurrency, provider_fingerprint,
                    token_hash, registered_at, last_seen_at)
                SELECT \(bind: prefix) || CAST(i AS TEXT), \(bind: "benchmark-" + prefix) || CAST(i AS TEXT), 'benchmark',
                    '[]', 'offline', '0.0.0', 'linux', 1, '', \(bind: prefix + "token-") || CAST(i AS TEXT),
                    \(bind: at), \(bind: at)
                FROM n
                """
            ).run()
        }
        try await refreshStatistics()
        return prefix
    }

    /// Lets the planner see the new rows, where it plans by statistics the database
    /// gathers on its own (`StoreDialect.refreshStatistics`).
    private func refreshStatistics() async throws(StoreError) {
        guard let statement = dialect.refreshStatistics else { return }
        try await write("refreshing planner statistics") { db in
            try await db.raw(SQLQueryString(statement)).run()
        }
    }
}
