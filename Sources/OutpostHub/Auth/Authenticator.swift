import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OutpostCore
import OutpostStore

/// Which token a route accepts.
enum AuthRequirement: Sendable, Equatable {
    /// Open to anyone (`/healthz`, `/openapi.yaml`, ...).
    case none
    /// A named API token whose role is at least this one: the user API.
    case user(APIRole)
    /// An agent type's registration token: `register` only.
    case registration
    /// An agent session token: `/api/v1/agent/*` after `register`.
    case agent
}

extension AuthRequirement {
    /// `GET` routes of the user API.
    static let reader = AuthRequirement.user(.reader)
    /// Running and cancelling tasks, draining agents.
    static let `operator` = AuthRequirement.user(.operator)
    /// Configuration: targets, agent types, API tokens.
    static let admin = AuthRequirement.user(.admin)
}

/// Who made a request, once its token checked out.
enum Caller: Sendable {
    case anonymous
    /// A named API token (its role was checked against the route's).
    case user(APITokenRow)
    case registration(AgentType)
    case agent(AgentIdentity)
}

/// Resolves bearer tokens. The hub holds only SHA-256 hashes and finds a token by
/// its hash; agent tokens are cached in the dispatcher so the poll path stays off
/// the database.
struct Authenticator: Sendable {
    let store: any HubStore
    let dispatcher: Dispatcher
    let clock: HubClock
    /// Client certificates of agent types that require them; `nil` on a hub without TLS.
    let agentCertificates: AgentCertificates?

    func authenticate(_ request: Request, as requirement: AuthRequirement, channel: any Channel) async throws -> Caller {
        switch requirement {
        case .none:
            return .anonymous
        case .user(let minimum):
            return .user(try await user(token: bearerToken(request, expected: .admin), minimum: minimum))
        case .registration:
            return .registration(try await registration(token: bearerToken(request, expected: .registration)))
        case .agent:
            let identity = try await agent(token: bearerToken(request, expected: .agent))
            if let agentCertificates, agentCertificates.requires(type: identity.type) {
                try await agentCertificates.verify(channel: channel, agentID: identity.id, now: clock.now())
            }
            return .agent(identity)
        }
    }

    /// The live API token, if its role reaches `minimum`: 401 for an unknown or
    /// revoked token, 403 naming both roles for one that falls short.
    func user(token: String, minimum: APIRole) async throws -> APITokenRow {
        let hash = TokenHasher.hash(token)
        guard let row = try await store.apiToken(hash: hash), TokenHasher.constantTimeEquals(row.hash, hash) else {
            throw refused(token, expected: .admin)
        }
        // A role this build does not know grants nothing.
        guard let role = APIRole(rawValue: row.role), role >= minimum else {
            throw HubError(
                .forbidden,
                "API token \"\(row.name)\" has the role \(row.role); this needs \(minimum.rawValue) or higher (outpost tokens create NAME --role \(minimum.rawValue))"
            )
        }
        await recordUse(of: row)
        return row
    }

    /// `last_used_at` to the minute: one write per token per minute at most, and a
    /// failed write never fails the request it describes.
    private func recordUse(of row: APITokenRow) async {
        let now = clock.now()
        if let last = row.lastUsedAt, now.timeIntervalSince(last) < 60 { return }
        try? await store.recordAPITokenUse(id: row.id, at: now)
    }

    func registration(token: String) async throws -> AgentType {
        let hash = TokenHasher.hash(token)
        guard let type = try await store.agentType(registrationTokenHash: hash) else {
            throw refused(token, expected: .registration)
        }
        return type
    }

    func agent(token: String) async throws -> AgentIdentity {
        let hash = TokenHasher.hash(token)
        switch await dispatcher.agent(forTokenHash: hash) {
        case .known(let identity):
            return identity
        case .unknown:
            // Not cached: the hub restarted, or the agent was taken offline.
            guard let record = try await store.agent(tokenHash: hash) else { throw refused(token, expected: .agent) }
            guard record.status != .offline,
                let identity = await dispatcher.adopt(record, tokenHash: hash, now: clock.now())
            else { throw Self.agentOffline }
            return identity
        }
    }

    static let agentOffline = HubError(
        .agentOffline, "the hub has marked this agent offline; register again to get a new agent token")

    /// The `Bearer` token of the request, or 401.
    private func bearerToken(_ request: Request, expected: TokenKind) throws -> String {
        guard let header = request.headers[.authorization] else {
            throw HubError(.unauthorized, "missing Authorization header; send \"Bearer\" and \(expected.label)")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw HubError(.unauthorized, "the Authorization header must be \"Bearer\" followed by \(expected.label)")
        }
        return String(parts[1]).trimmingSpaces()
    }

    /// 401 for an unknown token; worded by the token's prefix when it is of another kind.
    private func refused(_ token: String, expected: TokenKind) -> HubError {
        if let kind = TokenKind(of: token), kind != expected {
            return HubError(.unauthorized, "this endpoint takes \(expected.label), not \(kind.label)")
        }
        return HubError(.unauthorized, "unknown or revoked token; this endpoint takes \(expected.label)")
    }
}
