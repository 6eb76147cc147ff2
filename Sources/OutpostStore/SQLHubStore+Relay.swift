package import Foundation
import OutpostCore
import SQLKit

/// Requests a user makes of an agent (listing secret names) while several hub
/// replicas share the store: the user waits on one replica, the agent polls
/// another. The request and the agent's answer meet here. Names only: an answer
/// never holds a secret value.
extension SQLHubStore {
    package func insertRelayRequest(_ request: RelayRequest) async throws(StoreError) {
        try await write("storing relayed request \(request.id)") { db in
            try await db.raw(
                """
                INSERT INTO relay_requests (id, agent_id, provider, prefix, answer, created_at)
                VALUES (\(bind: request.id), \(bind: request.agentID), \(bind: request.provider), \(bind: request.prefix),
                    NULL, \(bind: request.createdAt.unixSeconds))
                """
            ).run()
        }
    }

    package func relayRequest(id: String) async throws(StoreError) -> RelayRequest? {
        try await read("reading relayed request \(id)") { db in
            try await db.raw(
                "SELECT id, agent_id, provider, prefix, answer, created_at FROM relay_requests WHERE id = \(bind: id)"
            ).first().map { row throws(StoreError) in try Self.relayRequest(row) }
        }
    }

    /// Requests still waiting for their agent's answer, oldest first.
    package func openRelayRequests() async throws(StoreError) -> [RelayRequest] {
        try await read("reading open relayed requests") { db in
            try await db.raw(
                """
                SELECT id, agent_id, provider, prefix, answer, created_at FROM relay_requests
                WHERE answer IS NULL ORDER BY created_at
                """
            ).all().map { row throws(StoreError) in try Self.relayRequest(row) }
        }
    }

    /// Stores the agent's answer. Returns `false` when no open request of that id is
    /// this agent's (unknown, another agent's, answered already, or given up).
    package func answerRelayRequest(id: String, agentID: String, answer: String) async throws(StoreError) -> Bool {
        try await write("answering relayed request \(id)") { db in
            try await db.raw(
                """
                UPDATE relay_requests SET answer = \(bind: answer)
                WHERE id = \(bind: id) AND agent_id = \(bind: agentID) AND answer IS NULL RETURNING id
                """
            ).first() != nil
        }
    }

    /// Deletes a request once its user has the answer or gave up.
    package func deleteRelayRequest(id: String) async throws(StoreError) {
        try await write("deleting relayed request \(id)") { db in
            try await db.raw("DELETE FROM relay_requests WHERE id = \(bind: id)").run()
        }
    }

    /// Deletes requests older than `cutoff` (their replica died waiting). Returns how many.
    package func deleteRelayRequests(createdBefore cutoff: Date) async throws(StoreError) -> Int {
        try await write("deleting stale relayed requests") { db in
            try await db.raw(
                "DELETE FROM relay_requests WHERE created_at < \(bind: cutoff.unixSeconds) RETURNING id"
            ).all().count
        }
    }

    private static func relayRequest(_ row: any SQLRow) throws(StoreError) -> RelayRequest {
        RelayRequest(
            id: try row.column("id"), agentID: try row.column("agent_id"),
            provider: try row.optionalColumn("provider"), prefix: try row.column("prefix"),
            answer: try row.optionalColumn("answer"), createdAt: try row.date("created_at"))
    }
}

/// A request relayed to an agent through the store, and its answer once given.
package struct RelayRequest: Sendable, Equatable {
    package var id: String
    package var agentID: String
    package var provider: String?
    package var prefix: String
    /// The agent's answer as JSON (a `SecretListing`), once it gave one.
    package var answer: String?
    package var createdAt: Date

    package init(id: String, agentID: String, provider: String?, prefix: String, answer: String? = nil, createdAt: Date) {
        self.id = id
        self.agentID = agentID
        self.provider = provider
        self.prefix = prefix
        self.answer = answer
        self.createdAt = createdAt
    }
}
