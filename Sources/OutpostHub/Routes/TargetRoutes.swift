import Hummingbird
import OutpostCore
import OutpostStore

/// `/api/v1/targets`: create, list, get, delete (admin token).
extension RouteTable {
    mutating func addTargetRoutes(hub: Hub) {
        add(.post, "/api/v1/targets", auth: .admin) { request, _ in
            var target = try await request.decodeJSON(Target.self)
            try InputValidation.validate(target: target)
            target.createdAt = hub.now()  // the hub owns the timestamp
            do {
                try await hub.store.insertTarget(target)
            } catch let error as StoreError where error.code == .conflict {
                throw HubError(.conflict, "a target named \"\(target.name)\" already exists")
            }
            return try .json(target, status: .created)
        }

        add(.get, "/api/v1/targets", auth: .admin) { _, _ in
            try .json(ListResponse(items: try await hub.store.listTargets()))
        }

        add(.get, "/api/v1/targets/{name}", auth: .admin) { _, context in
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
