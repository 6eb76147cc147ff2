package import Foundation
import OutpostCore
import SQLKit

/// Signed-in sessions of the web console, keyed by the hash of their cookie.
extension SQLHubStore {
    package func insertConsoleSession(_ session: ConsoleSessionRow) async throws(StoreError) {
        let dialect = self.dialect
        try await write("storing a console session") { db in
            do {
                try await db.raw(
                    """
                    INSERT INTO console_sessions (id_hash, token_id, created_at, expires_at)
                    VALUES (\(bind: session.idHash), \(bind: session.tokenID), \(bind: session.createdAt.unixSeconds),
                        \(bind: session.expiresAt.unixSeconds))
                    """
                ).run()
            } catch where dialect.constraint(error) == .unique {
                throw StoreError(.conflict, "a console session with this id already exists")
            } catch where dialect.constraint(error) == .foreignKey {
                throw StoreError(.notFound, "API token \(session.tokenID) does not exist")
            }
        }
    }

    /// One lookup by primary key, joined with its token by primary key.
    package func consoleSession(idHash: String, now: Date) async throws(StoreError)
        -> (session: ConsoleSessionRow, token: APITokenRow)?
    {
        try await read("looking up a console session") { db in
            guard
                let row = try await db.raw(
                    """
                    SELECT s.id_hash, s.token_id, s.created_at AS session_created_at, s.expires_at,
                        t.id, t.name, t.token_hash, t.role, t.created_at, t.last_used_at
                    FROM console_sessions s JOIN api_tokens t ON t.id = s.token_id
                    WHERE s.id_hash = \(bind: idHash) AND s.expires_at > \(bind: now.unixSeconds)
                        AND t.revoked_at IS NULL
                    """
                ).first()
            else { return nil }
            let session = ConsoleSessionRow(
                idHash: try row.column("id_hash"), tokenID: try row.column("token_id"),
                createdAt: try row.date("session_created_at"), expiresAt: try row.date("expires_at"))
            return (session, try row.apiToken())
        }
    }

    package func deleteConsoleSession(idHash: String) async throws(StoreError) {
        try await write("deleting a console session") { db in
            try await db.raw("DELETE FROM console_sessions WHERE id_hash = \(bind: idHash)").run()
        }
    }

    /// Reads `console_sessions_expires_at`, not every session.
    package func deleteConsoleSessions(expiredBefore cutoff: Date) async throws(StoreError) -> Int {
        try await write("deleting expired console sessions") { db in
            try await db.raw(
                "DELETE FROM console_sessions WHERE expires_at < \(bind: cutoff.unixSeconds) RETURNING id_hash"
            ).all().count
        }
    }
}
