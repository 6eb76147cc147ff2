import Hummingbird
import OutpostCore

/// Browsing secret names on an agent: the user asks the hub, the hub asks the
/// agent through its poll, the agent answers with names only.
extension RouteTable {
    mutating func addSecretListingRoutes(hub: Hub) {
        add(.get, "/api/v1/agents/{name}/secrets", auth: .operator) { request, context in
            let name = try context.pathParameter("name")
            let provider = request.uri.queryParameters["provider"].map(String.init)
            let prefix = request.uri.queryParameters["prefix"].map(String.init) ?? ""
            return try .json(try await hub.listSecretNames(agentName: name, provider: provider, prefix: prefix))
        }

        add(.post, "/api/v1/agent/secret-listings/{id}", auth: .agent) { request, context in
            let id = try context.pathParameter("id")
            let listing = try await request.decodeJSON(SecretListing.self)
            try await hub.reportSecretListing(id, from: try context.agent(), listing: listing)
            return Response(status: .noContent)
        }
    }
}
