import Foundation
import OutpostCore
import SQLKit

/// Agents' last-seen times: written in batches by every replica, read by the leader
/// to find agents that went silent.
extension SQLHubStore {
    /// One transaction, one statement per 500 agents. Unknown ids are skipped; a time
    /// older than the stored one never moves it back (a replica's late batch cannot
    /// undo another replica's newer heartbeat).
    package func recordHeartbeats(_ lastSeen: [String: Date]) async throws(StoreError) {
        guard !lastSeen.isEmpty else { return }
        let beats = Array(lastSeen)
        try await write("recording heartbeats of \(beats.count) agents") { db in
            for start in stride(from: 0, to: beats.count, by: statementListLimit) {
                let rows = beats[start..<min(start + statementListLimit, beats.count)].map { id, date in
                    SQLQueryString("(\(bind: id), \(bind: date.unixSeconds))")
                }
                // Padding rows have no id, so they match no agent.
                try await db.raw(
                    """
                    WITH beats (id, seen) AS (VALUES \(rows.paddedList(filler: "(NULL, NULL)", maximum: statementListLimit)))
                    UPDATE agents SET last_seen_at = beats.seen FROM beats
                    WHERE agents.id = beats.id AND agents.last_seen_at < beats.seen
                    """
                ).run()
            }
        }
    }

    /// Oldest silence first (ties by id). Reads `agents_live_last_seen`: the cost follows
    /// the live fleet, never the offline history.
    package func agentsSilentSince(_ cutoff: Date) async throws(StoreError) -> [AgentRecord] {
        try await read("finding agents silent since \(cutoff)") { db in
            try await db.raw(
                """
                SELECT \(unsafeRaw: StoredColumns.agent) FROM agents a
                WHERE \(unsafeRaw: StoredConditions.liveAgent) AND a.last_seen_at < \(bind: cutoff.unixSeconds)
                ORDER BY a.last_seen_at, a.id
                """
            ).all().map { row throws(StoreError) in try row.agentRecord() }
        }
    }
}
