import Foundation
import HTTPTypes
import HummingbirdTesting
import OutpostCore
import OutpostStore
import Testing

@testable import OutpostHub

@Suite("Authentication")
struct AuthTests {
    /// Which credential a case sends.
    enum Credential: String, Sendable, CaseIterable {
        case none, malformedHeader, unknownToken, admin, registration, agent, offlineAgent
    }

    /// The three kinds of route and the token each takes.
    enum Area: String, Sendable, CaseIterable {
        case userAPI, register, agentProtocol

        var accepted: Credential {
            switch self {
            case .userAPI: .admin
            case .register: .registration
            case .agentProtocol: .agent
            }
        }
    }

    static let cases: [(Area, Credential)] = Area.allCases.flatMap { area in
        Credential.allCases.filter { $0 != area.accepted && !(area != .agentProtocol && $0 == .offlineAgent) }
            .map { (area, $0) }
    }

    @Test("a route refuses every token but its own kind with 401 JSON", arguments: cases)
    func wrongTokenKind(area: Area, credential: Credential) async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                let registration = try await hub.registrationToken()
                let agent = try await SimAgent.register(api, registrationToken: registration)
                let offline = try await SimAgent.register(api, registrationToken: registration)
                _ = try await api.send(.post, "/api/v1/agent/deregister", token: .bearer(offline.token))

                let token: API.Token =
                    switch credential {
                    case .none: .none
                    case .malformedHeader: .header("Token abc")
                    case .unknownToken: .bearer("opa_thisisnotatoken")
                    case .admin: .admin
                    case .registration: .bearer(registration)
                    case .agent: .bearer(agent.token)
                    case .offlineAgent: .bearer(offline.token)
                    }
                let reply: Reply
                switch area {
                case .userAPI:
                    reply = try await api.send(.get, "/api/v1/targets", token: token)
                case .register:
                    reply = try await api.send(
                        .post, "/api/v1/agent/register", token: token,
                        json: [
                            "tags": [], "version": "1", "os": "linux", "concurrency": 1, "provider_fingerprint": "",
                            "protocol_version": 1,
                        ])
                case .agentProtocol:
                    reply = try await api.send(.post, "/api/v1/agent/poll", token: token, json: ["free_slots": 1])
                }
                #expect(reply.status == .unauthorized, "\(reply.text)")
                #expect(reply.error?.code == (credential == .offlineAgent ? "agent_offline" : "unauthorized"))
                #expect(reply.headers[.wwwAuthenticate] == "Bearer")
                // Never echo a token back.
                #expect(!reply.text.contains(registration) && !reply.text.contains(agent.token))
                #expect(!reply.text.contains(hub.adminToken))
            }
        }
    }

    @Test("a rotated registration token stops working at once")
    func rotatedToken() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let old = try await hub.registrationToken(type: "pool")
                let rotated = try await api.send(.post, "/api/v1/agent-types/pool/rotate-token")
                #expect(rotated.status == .ok)
                let fresh = try rotated.decode(AgentTypeTokenResponse.self).registrationToken
                #expect(fresh != old)
                let body: [String: Any] = [
                    "tags": [], "version": "1", "os": "linux", "concurrency": 1, "provider_fingerprint": "",
                    "protocol_version": 1,
                ]
                #expect(
                    try await api.send(.post, "/api/v1/agent/register", token: .bearer(old), json: body).status
                        == .unauthorized)
                #expect(
                    try await api.send(.post, "/api/v1/agent/register", token: .bearer(fresh), json: body).status
                        == .created)
            }
        }
    }

    @Test("tokens are stored as SHA-256 hashes only")
    func hashesOnly() async throws {
        try await TestHub.with { hub in
            let row = try await hub.store.apiToken(hash: TokenHasher.hash(hub.adminToken))
            #expect(row?.hash == TokenHasher.hash(hub.adminToken))
            #expect(row?.hash.count == 64)
            #expect(try await hub.store.apiToken(hash: hub.adminToken) == nil)
            #expect(TokenHasher.constantTimeEquals("abc", "abc"))
            #expect(!TokenHasher.constantTimeEquals("abc", "abd"))
            #expect(!TokenHasher.constantTimeEquals("abc", "abcd"))
        }
    }

    @Test("open routes need no token")
    func openRoutes() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let health = try await api.send(.get, "/healthz", token: .none)
                #expect(health.status == .ok)
                #expect(health.text == #"{"status":"ok"}"#)
                // Not listening (router test): not ready.
                let ready = try await api.send(.get, "/readyz", token: .none)
                #expect(ready.status == .serviceUnavailable)
                #expect(ready.error?.code == "not_ready")
                let metrics = try await api.send(.get, "/metrics", token: .none)
                #expect(metrics.status == .ok)
                #expect(metrics.text.contains("outpost_queued_tasks 0.0\n"))
                #expect(metrics.text.contains(#"outpost_tasks{status="running"} 0.0"#))
                #expect(metrics.text.contains("outpost_polls_waiting 0.0\n"))
                #expect(metrics.text.contains(#"outpost_agents{status="offline"} 0.0"#))
            }
        }
    }
}

@Suite("Agent names")
struct AgentNameTests {
    @Test("a name held by an online agent is refused with name_in_use; once it deregisters the name is free")
    func nameInUse() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(50) }) { hub in
            try await hub.withAPI { api in
                let registration = try await hub.registrationToken()
                let first = try await SimAgent.register(api, registrationToken: registration, name: "builder-01")
                let request = RegisterRequest(name: "builder-01", tags: .empty, version: "test", os: "linux", concurrency: 1)
                let refused = try await api.send(
                    .post, "/api/v1/agent/register", token: .bearer(registration), encodable: request)
                #expect(refused.status == .conflict)
                #expect(refused.error?.code == "name_in_use")
                #expect(refused.error?.message.contains("builder-01") == true)

                _ = try await api.send(.post, "/api/v1/agent/deregister", token: .bearer(first.token))
                let again = try await SimAgent.register(api, registrationToken: registration, name: "builder-01")
                #expect(again.name == "builder-01")
                #expect(again.id != first.id)
            }
        }
    }

    @Test("names of 7 or 81 characters or with other characters are refused", arguments: [
        String(repeating: "a", count: 7), String(repeating: "a", count: 81), "bad name!", "ünicode-name",
    ])
    func invalidNames(_ name: String) async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let registration = try await hub.registrationToken()
                let request = RegisterRequest(name: name, tags: .empty, version: "test", os: "linux", concurrency: 1)
                let reply = try await api.send(
                    .post, "/api/v1/agent/register", token: .bearer(registration), encodable: request)
                #expect(reply.status == .badRequest)
                #expect(reply.error?.code == "invalid_request")
            }
        }
    }
}
