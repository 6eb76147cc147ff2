import Foundation
import OutpostCore
import SQLKit

/// API tokens and agent types: the two things that hold a hashed credential.
extension SQLHubStore {
    // MARK: API tokens

    /// - Throws: `.conflict` when the id or the hash is already stored.
    package func insertAPIToken(_ token: APITokenRow) async throws(StoreError) {
        let dialect = self.dialect
        try await write("storing API token \"\(token.name)\"") { db in
            do {
                try await db.raw(
                    """
                    INSERT INTO api_tokens (id, name, token_hash, role, created_at)
                    VALUES (\(bind: token.id), \(bind: token.name), \(bind: token.hash), \(bind: token.role),
                        \(bind: token.createdAt.unixSeconds))
                    """
                ).run()
            } catch where dialect.constraint(error) == .unique {
                throw StoreError(.conflict, "an API token named \"\(token.name)\" already exists")
            }
        }
    }

    package func apiToken(hash: String) async throws(StoreError) -> APITokenRow? {
        try await read("looking up an API token") { db in
            try await db.raw(
                """
                SELECT \(unsafeRaw: StoredColumns.apiToken) FROM api_tokens
                WHERE token_hash = \(bind: hash) AND revoked_at IS NULL
                """
            ).first()?.apiToken()
        }
    }

    package func countAPITokens() async throws(StoreError) -> Int {
        try await read("counting API tokens") { db in
            try await db.raw("SELECT COUNT(*) AS n FROM api_tokens").first()?.column("n", as: Int.self) ?? 0
        }
    }

    package func listAPITokens() async throws(StoreError) -> [APITokenRow] {
        try await read("listing API tokens") { db in
            try await db.raw(
                """
                SELECT \(unsafeRaw: StoredColumns.apiToken) FROM api_tokens WHERE revoked_at IS NULL
                ORDER BY name
                """
            ).all().map { row throws(StoreError) in try row.apiToken() }
        }
    }

    package func rotateAPIToken(named name: String, newHash: String) async throws(StoreError) -> APITokenRow {
        let dialect = self.dialect
        return try await write("rotating API token \"\(name)\"") { db in
            let row: (any SQLRow)?
            do {
                row = try await db.raw(
                    """
                    UPDATE api_tokens SET token_hash = \(bind: newHash), last_used_at = NULL
                    WHERE name = \(bind: name) AND revoked_at IS NULL
                    RETURNING \(unsafeRaw: StoredColumns.apiToken)
                    """
                ).first()
            } catch where dialect.constraint(error) == .unique {
                throw StoreError(.conflict, "the new hash of API token \"\(name)\" is already in use")
            }
            guard let row else { throw StoreError(.notFound, "no API token named \"\(name)\"") }
            let token = try row.apiToken()
            // Browsers signed in with the old token are signed out with it.
            try await db.raw("DELETE FROM console_sessions WHERE token_id = \(bind: token.id)").run()
            return token
        }
    }

    package func revokeAPIToken(named name: String, at: Date) async throws(StoreError) -> APITokenRow {
        try await write("revoking API token \"\(name)\"") { db in
            // One statement decides, so two concurrent revokes cannot remove the last two admins.
            let revoked = try await db.raw(
                """
                UPDATE api_tokens SET revoked_at = \(bind: at.unixSeconds)
                WHERE name = \(bind: name) AND revoked_at IS NULL
                    AND (role <> 'admin'
                        OR (SELECT COUNT(*) FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL) > 1)
                RETURNING \(unsafeRaw: StoredColumns.apiToken)
                """
            ).first()
            if let revoked { return try revoked.apiToken() }
            guard
                try await db.raw("SELECT id FROM api_tokens WHERE name = \(bind: name) AND revoked_at IS NULL").first()
                    != nil
            else { throw StoreError(.notFound, "no API token named \"\(name)\"") }
            throw StoreError(.conflict, "API token \"\(name)\" is the last admin token")
        }
    }

    package func recordAPITokenUse(id: String, at: Date) async throws(StoreError) {
        try await write("recording the use of an API token") { db in
            try await db.raw(
                """
                UPDATE api_tokens SET last_used_at = \(bind: at.unixSeconds)
                WHERE id = \(bind: id) AND (last_used_at IS NULL OR last_used_at < \(bind: at.unixSeconds))
                """
            ).run()
        }
    }

    // MARK: Agent types

    package func insertAgentType(_ type: AgentType, registrationTokenHash: String) async throws(StoreError) {
        let dialect = self.dialect
        let awsRules = try type.aws.map { rules throws(StoreError) in try StoreJSON.encode(rules, column: "aws_rules") }
        let allowedTags = try StoreJSON.encode(type.allowedTags, column: "allowed_tags")
        try await write("creating agent type \"\(type.name)\"") { db in
            do {
                try await db.raw(
                    """
                    INSERT INTO agent_types (name, registration_token_hash, created_at, token_rotated_at, name_policy,
                        aws_rules, name_release_seconds, exclusive, token_revoked, allowed_tags, require_client_cert,
                        signed_tasks)
                    VALUES (\(bind: type.name), \(bind: registrationTokenHash), \(bind: type.createdAt.unixSeconds),
                        \(bind: type.tokenRotatedAt.unixSeconds), \(bind: type.namePolicy.rawValue), \(bind: awsRules),
                        \(bind: type.nameReleaseSeconds), \(bind: type.exclusive.storedFlag), \(bind: type.tokenRevoked.storedFlag),
                        \(bind: allowedTags), \(bind: type.requireClientCertificate.storedFlag),
                        \(bind: type.signedTasks.rawValue))
                    """
                ).run()
            } catch where dialect.constraint(error) == .unique {
                throw StoreError(.conflict, "agent type \"\(type.name)\" already exists")
            }
        }
    }

    package func agentType(named name: String) async throws(StoreError) -> AgentType? {
        try await read("reading agent type \"\(name)\"") { db in
            try await db.raw(
                "SELECT \(unsafeRaw: StoredColumns.agentType) FROM agent_types WHERE name = \(bind: name)"
            ).first()?.agentType()
        }
    }

    package func agentType(registrationTokenHash: String) async throws(StoreError) -> AgentType? {
        try await read("looking up a registration token") { db in
            try await db.raw(
                """
                SELECT \(unsafeRaw: StoredColumns.agentType) FROM agent_types
                WHERE registration_token_hash = \(bind: registrationTokenHash)
                """
            ).first()?.agentType()
        }
    }

    /// Ordered by name.
    package func listAgentTypes() async throws(StoreError) -> [AgentType] {
        try await read("listing agent types") { db in
            try await db.raw("SELECT \(unsafeRaw: StoredColumns.agentType) FROM agent_types ORDER BY name").all()
                .map { row throws(StoreError) in try row.agentType() }
        }
    }

    package func rotateAgentTypeToken(named name: String, newHash: String, revoked: Bool, at: Date) async throws(StoreError)
        -> AgentType
    {
        let dialect = self.dialect
        return try await write("rotating the token of agent type \"\(name)\"") { db in
            let row: (any SQLRow)?
            do {
                row = try await db.raw(
                    """
                    UPDATE agent_types SET registration_token_hash = \(bind: newHash), token_rotated_at = \(bind: at.unixSeconds),
                        token_revoked = \(bind: revoked.storedFlag)
                    WHERE name = \(bind: name)
                    RETURNING \(unsafeRaw: StoredColumns.agentType)
                    """
                ).first()
            } catch where dialect.constraint(error) == .unique {
                throw StoreError(.conflict, "the new registration token of agent type \"\(name)\" is already in use")
            }
            guard let row else { throw StoreError(.notFound, "agent type \"\(name)\" does not exist") }
            return try row.agentType()
        }
    }

    package func updateAgentType(named name: String, _ change: AgentTypeChange) async throws(StoreError) -> AgentType {
        let allowedTags = try change.allowedTags.map { tags throws(StoreError) in
            try StoreJSON.encode(tags, column: "allowed_tags")
        }
        return try await write("changing agent type \"\(name)\"") { db in
            guard
                let row = try await db.raw(
                    """
                    UPDATE agent_types SET allowed_tags = COALESCE(\(bind: allowedTags), allowed_tags),
                        signed_tasks = COALESCE(\(bind: change.signedTasks?.rawValue), signed_tasks)
                    WHERE name = \(bind: name)
                    RETURNING \(unsafeRaw: StoredColumns.agentType)
                    """
                ).first()
            else { throw StoreError(.notFound, "agent type \"\(name)\" does not exist") }
            return try row.agentType()
        }
    }
}
