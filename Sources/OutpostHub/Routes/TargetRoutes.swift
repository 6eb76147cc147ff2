import Hummingbird
import OutpostCore
import OutpostStore

/// `/api/v1/targets`: create, replace and delete (admin), list and get (reader).
extension RouteTable {
    mutating func addTargetRoutes(hub: Hub) {
        add(.post, "/api/v1/targets", auth: .admin) { request, _ in
            let target = try await hub.createTarget(try await request.decodeJSON(Target.self))
            return try .json(target, status: .created)
        }

        // The create body; its name may be left out, and when given must be the path's.
        add(.put, "/api/v1/targets/{name}", auth: .admin) { request, context in
            let name = try context.pathParameter("name")
            let body = try await request.decodeJSON(ReplaceTargetRequest.self)
            return try .json(try await hub.updateTarget(named: name, with: body.target(named: name)))
        }

        add(.get, "/api/v1/targets", auth: .reader) { _, _ in
            try .json(ListResponse(items: try await hub.store.listTargets()))
        }

        add(.get, "/api/v1/targets/{name}", auth: .reader) { _, context in
            let name = try context.pathParameter("name")
            guard let target = try await hub.store.target(named: name) else {
                throw HubError.notFound("no target named \"\(name)\"")
            }
            return try .json(target)
        }

        add(.delete, "/api/v1/targets/{name}", auth: .admin) { _, context in
            let name = try context.pathParameter("name")
            guard try await hub.store.deleteTarget(named: name) else {
                throw HubError.notFound("no target named \"\(name)\"")
            }
            return .noContent()
        }
    }
}

extension Hub {
    /// A target may pin only agent types that exist: a typo would leave its tasks
    /// queued forever with nothing to say why.
    func checkPinnedAgentTypes(of target: Target) async throws {
        guard target.agentTypes.count <= 64 else {
            throw ValidationError(field: "agent_types", message: "a target may pin at most 64 agent types")
        }
        for name in target.agentTypes {
            do {
                try Names.validateResourceName(name, kind: "agent type")
            } catch {
                throw ValidationError(field: "agent_types", message: error.message)
            }
            guard try await store.agentType(named: name) != nil else {
                throw ValidationError(
                    field: "agent_types",
                    message: "agent_types: no agent type named \"\(name)\" (outpost agent-type list shows them)")
            }
        }
    }
}
