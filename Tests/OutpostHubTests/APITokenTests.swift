import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// Issue 11, finding 7: named API tokens with roles; rotation and revocation.
@Suite("API tokens and roles")
struct APITokenTests {
    /// The least role each user route needs: the contract docs/api.md states.
    static let minimumRoles: [String: APIRole] = [
        "GET /api/v1/targets": .reader,
        "GET /api/v1/targets/{name}": .reader,
        "POST /api/v1/targets": .admin,
        "PUT /api/v1/targets/{name}": .admin,
        "DELETE /api/v1/targets/{name}": .admin,
        "GET /api/v1/tasks": .reader,
        "GET /api/v1/tasks/{id}": .reader,
        "GET /api/v1/tasks/{id}/log": .reader,
        "POST /api/v1/tasks": .operator,
        "POST /api/v1/tasks/{id}/cancel": .operator,
        "GET /api/v1/agents": .reader,
        "POST /api/v1/agents/{name}/drain": .operator,
        "GET /api/v1/agents/{name}/secrets": .operator,
        "GET /api/v1/agent-types": .reader,
        "POST /api/v1/agent-types": .admin,
        "PATCH /api/v1/agent-types/{name}": .admin,
        "POST /api/v1/agent-types/{name}/rotate-token": .admin,
        "POST /api/v1/agent-types/{name}/revoke-token": .admin,
        "GET /api/v1/tokens": .admin,
        "POST /api/v1/tokens": .admin,
        "POST /api/v1/tokens/{name}/rotate": .admin,
        "DELETE /api/v1/tokens/{name}": .admin,
        "GET /api/v1/ca": .reader,
        "POST /api/v1/ca/rotate": .admin,
    ]

    @Test("every user route needs exactly its documented role, and a new route cannot go without one")
    func routeRoles() async throws {
        try await TestHub.with { hub in
            var declared: [String: APIRole] = [:]
            for route in hub.runtime.routes.routes {
                if case .user(let role) = route.auth { declared[route.signature.description] = role }
            }
            #expect(declared == Self.minimumRoles)
        }
    }

    @Test("each role reaches exactly the routes at or below it: 403 above, never 401 or 403 at or below")
    func roleBoundaries() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                var tokens: [APIRole: String] = [.admin: hub.adminToken]
                for role in [APIRole.reader, .operator] {
                    tokens[role] = try await createToken(api, name: "\(role.rawValue)-token", role: role)
                }
                for (signature, minimum) in Self.minimumRoles.sorted(by: { $0.key < $1.key }) {
                    let parts = signature.split(separator: " ", maxSplits: 1)
                    let method = HTTPRequest.Method(String(parts[0]))!
                    // Placeholders fill the path; the handler may then say 400 or 404, but only after the token check.
                    let path = String(parts[1]).replacingOccurrences(of: "{name}", with: "nothing-here")
                        .replacingOccurrences(of: "{id}", with: "tsk_nothing")
                    for role in APIRole.allCases {
                        let reply = try await api.send(method, path, token: .bearer(tokens[role]!), body: "{}", contentType: "application/json")
                        if role < minimum {
                            #expect(reply.status == .forbidden, "\(role) on \(signature): \(reply.status) \(reply.text)")
                            #expect(reply.error?.message.contains("needs \(minimum.rawValue)") == true, "\(reply.text)")
                        } else {
                            #expect(
                                reply.status != .forbidden && reply.status != .unauthorized,
                                "\(role) on \(signature): \(reply.status) \(reply.text)")
                        }
                    }
                }
            }
        }
    }

    @Test("a reader cannot submit a task (403, nothing queued); an operator's task records the token's name as created_by")
    func readerAndOperator() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let reader = try await createToken(api, name: "dashboard", role: .reader)
                let refused = try await api.send(
                    .post, "/api/v1/tasks", token: .bearer(reader), json: ["target": "local", "script": "echo hi"])
                #expect(refused.status == .forbidden)
                #expect(refused.error?.code == "forbidden")
                #expect(refused.error?.message.contains(#"API token "dashboard" has the role reader"#) == true, "\(refused.text)")
                #expect(try await api.send(.get, "/api/v1/tasks", token: .bearer(reader)).decode(ListResponse<TaskRecord>.self).items.isEmpty)

                let ci = try await createToken(api, name: "ci-deploy", role: .operator)
                let created = try await api.send(
                    .post, "/api/v1/tasks", token: .bearer(ci), json: ["target": "local", "script": "echo hi"])
                #expect(created.status == .created, "\(created.text)")
                let task = try created.decode(TaskRecord.self)
                #expect(task.createdBy == "ci-deploy")
                #expect(try await api.send(.get, "/api/v1/tasks/\(task.id)", token: .bearer(reader)).decode(TaskRecord.self).createdBy == "ci-deploy")
                #expect(try await hub.createTask(api, target: "local").createdBy == "admin")
            }
        }
    }

    @Test("a revoked token is 401 at once; its name can be given again, to a new token only")
    func revoke() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let token = try await createToken(api, name: "ci-deploy", role: .operator)
                #expect(try await api.send(.get, "/api/v1/tasks", token: .bearer(token)).status == .ok)
                #expect(try await api.send(.delete, "/api/v1/tokens/ci-deploy").status == .noContent)
                let after = try await api.send(.get, "/api/v1/tasks", token: .bearer(token))
                #expect(after.status == .unauthorized)
                #expect(after.error?.message.contains("unknown or revoked") == true, "\(after.text)")
                #expect(try await api.send(.delete, "/api/v1/tokens/ci-deploy").status == .notFound)
                #expect(try await listTokens(api).map(\.name) == ["admin"])

                let again = try await createToken(api, name: "ci-deploy", role: .reader)
                #expect(try await api.send(.get, "/api/v1/tasks", token: .bearer(again)).status == .ok)
                #expect(try await api.send(.get, "/api/v1/tasks", token: .bearer(token)).status == .unauthorized)
            }
        }
    }

    @Test("rotating the first admin token prints a new one and the old one stops working")
    func rotateAdmin() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let rotated = try await api.send(.post, "/api/v1/tokens/admin/rotate", body: "")
                #expect(rotated.status == .ok, "\(rotated.text)")
                let fresh = try rotated.decode(APITokenResponse.self)
                #expect(fresh.apiToken.name == "admin" && fresh.apiToken.role == .admin)
                #expect(fresh.token != hub.adminToken)
                #expect(try await api.send(.get, "/api/v1/tokens", token: .admin).status == .unauthorized)
                #expect(try await api.send(.get, "/api/v1/tokens", token: .bearer(fresh.token)).status == .ok)
                #expect(try await api.send(.post, "/api/v1/tokens/nobody/rotate", token: .bearer(fresh.token), body: "").status == .notFound)
            }
        }
    }

    @Test("the last admin token cannot be revoked; with a second admin it can")
    func lastAdmin() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let refused = try await api.send(.delete, "/api/v1/tokens/admin")
                #expect(refused.status == .conflict)
                #expect(refused.error?.message.contains("last admin token") == true, "\(refused.text)")
                #expect(try await api.send(.get, "/api/v1/tokens").status == .ok)

                // Readers and operators do not count as admins.
                _ = try await createToken(api, name: "ops", role: .operator)
                #expect(try await api.send(.delete, "/api/v1/tokens/admin").status == .conflict)

                let second = try await createToken(api, name: "second-admin", role: .admin)
                #expect(try await api.send(.delete, "/api/v1/tokens/admin").status == .noContent)
                #expect(try await api.send(.get, "/api/v1/tokens").status == .unauthorized)
                let last = try await api.send(.delete, "/api/v1/tokens/second-admin", token: .bearer(second))
                #expect(last.status == .conflict)
            }
        }
    }

    @Test("the list shows names, roles, created and last used, never a token or its hash")
    func list() async throws {
        let clock = ManualClock()
        try await TestHub.with(clock: clock) { hub in
            try await hub.withAPI { api in
                let reader = try await createToken(api, name: "dashboard", role: .reader)
                var listed = try await api.send(.get, "/api/v1/tokens")
                #expect(!listed.text.contains(reader) && !listed.text.contains(hub.adminToken))
                #expect(!listed.text.contains(TokenHasher.hash(reader)) && !listed.text.contains(TokenHasher.hash(hub.adminToken)))
                #expect(listed.text.contains(#""last_used_at":null"#), "\(listed.text)")

                clock.advance(by: 120)
                _ = try await api.send(.get, "/api/v1/tasks", token: .bearer(reader))
                listed = try await api.send(.get, "/api/v1/tokens")
                let dashboard = try listed.decode(ListResponse<APITokenInfo>.self).items.first { $0.name == "dashboard" }
                #expect(dashboard?.role == .reader)
                #expect(dashboard?.lastUsedAt == clock.date)
                #expect(dashboard?.createdAt == clock.date.addingTimeInterval(-120))
            }
        }
    }

    @Test("token names and roles are checked; a live name cannot be taken twice")
    func validation() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let badName = try await api.send(.post, "/api/v1/tokens", json: ["name": "has space", "role": "reader"])
                #expect(badName.status == .badRequest)
                #expect(badName.error?.message.contains("API token name") == true, "\(badName.text)")
                let badRole = try await api.send(.post, "/api/v1/tokens", json: ["name": "x", "role": "root"])
                #expect(badRole.status == .badRequest, "\(badRole.text)")
                let duplicate = try await api.send(.post, "/api/v1/tokens", json: ["name": "admin", "role": "reader"])
                #expect(duplicate.status == .conflict)
                #expect(duplicate.error?.message.contains(#"an API token named "admin" already exists"#) == true)
            }
        }
    }
}

private func createToken(_ api: API, name: String, role: APIRole) async throws -> String {
    let reply = try await api.send(.post, "/api/v1/tokens", json: ["name": name, "role": role.rawValue])
    #expect(reply.status == .created, "create token: \(reply.text)")
    let response = try reply.decode(APITokenResponse.self)
    #expect(response.apiToken == APITokenInfo(name: name, role: role, createdAt: response.apiToken.createdAt))
    return response.token
}

private func listTokens(_ api: API) async throws -> [APITokenInfo] {
    try await api.send(.get, "/api/v1/tokens").decode(ListResponse<APITokenInfo>.self).items
}
