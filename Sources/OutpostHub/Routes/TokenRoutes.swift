import Foundation
import Hummingbird
import Logging
import OutpostCore
import OutpostStore

/// `/api/v1/tokens`: named API tokens with roles (admin token). A token is shown
/// once, when created or rotated; the hub keeps its hash.
extension RouteTable {
    mutating func addTokenRoutes(hub: Hub) {
        add(.post, "/api/v1/tokens", auth: .admin) { request, context in
            let body = try await request.decodeJSON(CreateAPITokenRequest.self)
            let by = try context.apiToken().name
            return try .json(try await hub.createAPIToken(body, by: by), status: .created)
        }

        add(.get, "/api/v1/tokens", auth: .admin) { _, _ in
            try .json(ListResponse(items: try await hub.store.listAPITokens().map(\.info)))
        }

        add(.post, "/api/v1/tokens/{name}/rotate", auth: .admin) { _, context in
            let name = try context.pathParameter("name")
            let by = try context.apiToken().name
            return try .json(try await hub.rotateAPIToken(named: name, by: by))
        }

        add(.delete, "/api/v1/tokens/{name}", auth: .admin) { _, context in
            let name = try context.pathParameter("name")
            let by = try context.apiToken().name
            try await hub.revokeAPIToken(named: name, by: by)
            return .noContent()
        }
    }
}

extension Hub {
    /// Creates a named token; `by` is the admin token that asked (for the log).
    func createAPIToken(_ request: CreateAPITokenRequest, by: String) async throws -> APITokenResponse {
        do {
            try Names.validateResourceName(request.name, kind: "API token")
        } catch {
            throw ValidationError(field: "name", message: error.message)
        }
        let token = Identifiers.token(prefix: TokenKind.admin.rawValue)
        let row = APITokenRow(
            id: Identifiers.make(prefix: "tok"), name: request.name, hash: TokenHasher.hash(token),
            role: request.role.rawValue, createdAt: now())
        do {
            try await store.insertAPIToken(row)
        } catch {
            guard error.code == .conflict else { throw error }
            throw HubError(
                .conflict,
                "an API token named \"\(request.name)\" already exists; rotate it (outpost tokens rotate \(request.name)) or revoke it first"
            )
        }
        logger.notice(
            "API token created", metadata: ["token": "\(row.name)", "role": "\(row.role)", "by": "\(by)"])
        return APITokenResponse(apiToken: row.info, token: token)
    }

    /// Issues a new token under the same name and role; the old one stops working at once.
    func rotateAPIToken(named name: String, by: String) async throws -> APITokenResponse {
        let token = Identifiers.token(prefix: TokenKind.admin.rawValue)
        do {
            let row = try await store.rotateAPIToken(named: name, newHash: TokenHasher.hash(token))
            logger.notice("API token rotated", metadata: ["token": "\(name)", "by": "\(by)"])
            return APITokenResponse(apiToken: row.info, token: token)
        } catch {
            guard error.code == .notFound else { throw error }
            throw HubError.notFound("no API token named \"\(name)\" (outpost tokens list shows them)")
        }
    }

    /// Revokes a token at once. The last admin token cannot go: nobody could then
    /// manage the hub.
    func revokeAPIToken(named name: String, by: String) async throws {
        do {
            _ = try await store.revokeAPIToken(named: name, at: now())
            logger.notice("API token revoked", metadata: ["token": "\(name)", "by": "\(by)"])
        } catch {
            switch error.code {
            case .notFound:
                throw HubError.notFound("no API token named \"\(name)\" (outpost tokens list shows them)")
            case .conflict:
                throw HubError(
                    .conflict,
                    "\"\(name)\" is the last admin token and cannot be revoked; create another (outpost tokens create NAME --role admin) first, or rotate this one (outpost tokens rotate \(name))"
                )
            default:
                throw error
            }
        }
    }
}

extension APITokenRow {
    /// What the API shows: never the hash. A role this build does not know shows as reader,
    /// the least it could be (it grants nothing here; see `Authenticator`).
    var info: APITokenInfo {
        APITokenInfo(name: name, role: APIRole(rawValue: role) ?? .reader, createdAt: createdAt, lastUsedAt: lastUsedAt)
    }
}
