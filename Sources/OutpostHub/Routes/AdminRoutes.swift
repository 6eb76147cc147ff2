import Hummingbird
import OutpostCore
import OutpostStore

/// `/api/v1/agents` and `/api/v1/agent-types` (admin token).
extension RouteTable {
    mutating func addAdminRoutes(hub: Hub) {
        add(.get, "/api/v1/agents", auth: .admin) { request, _ in
            let all = try request.queryBool("all")
            let stored = try await hub.store.listAgents(includeOffline: all)
            let live = await hub.dispatcher.snapshot().agents
            // The store has the registration; memory has the live view (busy, draining, last seen).
            let agents = stored.map { record -> AgentRecord in
                var record = record
                if let now = live[record.id] {
                    record.status = now.status
                    record.lastSeenAt = now.lastSeen
                    record.runningTasks = now.activeTasks
                }
                return record
            }
            return try .json(ListResponse(items: agents))
        }

        add(.post, "/api/v1/agent-types", auth: .admin) { request, _ in
            let body = try await request.decodeJSON(CreateAgentTypeRequest.self)
            try Names.validateResourceName(body.name, kind: "agent type")
            return try .json(try await hub.createAgentType(named: body.name), status: .created)
        }

        add(.get, "/api/v1/agent-types", auth: .admin) { _, _ in
            try .json(ListResponse(items: try await hub.store.listAgentTypes()))
        }

        add(.post, "/api/v1/agent-types/{name}/rotate-token", auth: .admin) { _, context in
            let name = try context.pathParameter("name")
            return try .json(try await hub.rotateAgentTypeToken(named: name))
        }
    }
}

extension Hub {
    /// Creates an agent type; its registration token is returned once, stored hashed.
    func createAgentType(named name: String) async throws -> AgentTypeTokenResponse {
        let token = Identifiers.token(prefix: TokenKind.registration.rawValue)
        let now = now()
        let type = AgentType(name: name, createdAt: now, tokenRotatedAt: now)
        do {
            try await store.insertAgentType(type, registrationTokenHash: TokenHasher.hash(token))
        } catch {
            guard error.code == .conflict else { throw error }
            throw HubError(
                .conflict,
                "agent type \"\(name)\" already exists; rotate its token with POST /api/v1/agent-types/\(name)/rotate-token"
            )
        }
        return AgentTypeTokenResponse(agentType: type, registrationToken: token)
    }

    /// Issues a new registration token; the old one stops working at once.
    func rotateAgentTypeToken(named name: String) async throws -> AgentTypeTokenResponse {
        let token = Identifiers.token(prefix: TokenKind.registration.rawValue)
        do {
            let type = try await store.rotateAgentTypeToken(named: name, newHash: TokenHasher.hash(token), at: now())
            return AgentTypeTokenResponse(agentType: type, registrationToken: token)
        } catch {
            guard error.code == .notFound else { throw error }
            throw HubError.notFound("no agent type named \"\(name)\"")
        }
    }
}
