import Foundation
import NIOCore
import NIOHTTP1
package import OutpostCore

/// The user and admin API: targets, tasks, agents, agent types.
extension HubClient {
    // MARK: Targets

    package func createTarget(_ target: Target) async throws(ClientError) -> Target {
        try await call(.POST, "/api/v1/targets", json: target)
    }

    package func listTargets() async throws(ClientError) -> [Target] {
        try await call(.GET, "/api/v1/targets", as: ListResponse<Target>.self).items
    }

    package func target(named name: String) async throws(ClientError) -> Target {
        try await call(.GET, "/api/v1/targets/\(Self.segment(name))")
    }

    package func deleteTarget(named name: String) async throws(ClientError) {
        _ = try await send(.DELETE, "/api/v1/targets/\(Self.segment(name))")
    }

    // MARK: Tasks

    /// Submits a task; `userToken` (the user's session JWT, for agents that enforce
    /// user tokens) travels in a header and is held in the hub's memory only.
    package func createTask(_ request: CreateTaskRequest, userToken: String? = nil) async throws(ClientError)
        -> TaskRecord
    {
        let headers = userToken.map { [(name: "X-Outpost-User-Token", value: $0)] } ?? []
        return try await call(.POST, "/api/v1/tasks", json: request, headers: headers)
    }

    /// Reads a task; with `waitSeconds` the hub answers as soon as the task is
    /// terminal, or with its current state once the wait ends.
    package func task(id: String, waitSeconds: Int? = nil) async throws(ClientError) -> TaskRecord {
        var path = "/api/v1/tasks/\(Self.segment(id))"
        if let waitSeconds { path += "?wait=\(waitSeconds)" }
        return try await call(.GET, path, timeout: .seconds(Int64(waitSeconds ?? 0) + 30))
    }

    package func listTasks(status: TaskStatus? = nil, limit: Int = 100) async throws(ClientError) -> [TaskRecord] {
        var path = "/api/v1/tasks?limit=\(limit)"
        if let status { path += "&status=\(status.rawValue)" }
        return try await call(.GET, path, as: ListResponse<TaskRecord>.self).items
    }

    package func cancelTask(id: String) async throws(ClientError) -> TaskRecord {
        try await call(.POST, "/api/v1/tasks/\(Self.segment(id))/cancel")
    }

    // MARK: Agents and agent types

    package func listAgents(includeOffline: Bool = false) async throws(ClientError) -> [AgentRecord] {
        try await call(.GET, "/api/v1/agents" + (includeOffline ? "?all=true" : ""), as: ListResponse<AgentRecord>.self)
            .items
    }

    /// `allowedTags` `nil`: the type admits only agents without tags.
    package func createAgentType(named name: String, allowedTags: [String]? = nil) async throws(ClientError)
        -> AgentTypeTokenResponse
    {
        try await createAgentType(CreateAgentTypeRequest(name: name, allowedTags: allowedTags))
    }

    package func createAgentType(_ request: CreateAgentTypeRequest) async throws(ClientError) -> AgentTypeTokenResponse {
        try await call(.POST, "/api/v1/agent-types", json: request)
    }

    /// Changes the fields `request` sets (`allowed_tags`).
    package func updateAgentType(named name: String, _ request: UpdateAgentTypeRequest) async throws(ClientError)
        -> AgentType
    {
        try await call(.PATCH, "/api/v1/agent-types/\(Self.segment(name))", json: request)
    }

    /// Closes registration for the type until its token is rotated.
    package func revokeAgentTypeToken(named name: String) async throws(ClientError) -> AgentType {
        try await call(.POST, "/api/v1/agent-types/\(Self.segment(name))/revoke-token")
    }

    /// The agent finishes its running tasks, takes no new ones, then disconnects.
    package func drainAgent(named name: String) async throws(ClientError) -> AgentRecord {
        try await call(.POST, "/api/v1/agents/\(Self.segment(name))/drain")
    }

    package func listAgentTypes() async throws(ClientError) -> [AgentType] {
        try await call(.GET, "/api/v1/agent-types", as: ListResponse<AgentType>.self).items
    }

    package func rotateAgentTypeToken(named name: String) async throws(ClientError) -> AgentTypeTokenResponse {
        try await call(.POST, "/api/v1/agent-types/\(Self.segment(name))/rotate-token")
    }

    // MARK: The agent CA

    /// The CA that signs agents' client certificates (and the previous one during a rotation).
    package func agentCA() async throws(ClientError) -> AgentCAStatus {
        try await call(.GET, "/api/v1/ca")
    }

    /// Starts a rotation of the agent CA.
    package func rotateAgentCA() async throws(ClientError) -> AgentCAStatus {
        try await call(.POST, "/api/v1/ca/rotate")
    }

    // MARK: API tokens

    /// Creates a named API token; the answer is the only time the token is shown.
    package func createAPIToken(_ request: CreateAPITokenRequest) async throws(ClientError) -> APITokenResponse {
        try await call(.POST, "/api/v1/tokens", json: request)
    }

    package func listAPITokens() async throws(ClientError) -> [APITokenInfo] {
        try await call(.GET, "/api/v1/tokens", as: ListResponse<APITokenInfo>.self).items
    }

    /// A new token under the same name and role; the old one stops working at once.
    package func rotateAPIToken(named name: String) async throws(ClientError) -> APITokenResponse {
        try await call(.POST, "/api/v1/tokens/\(Self.segment(name))/rotate")
    }

    package func revokeAPIToken(named name: String) async throws(ClientError) {
        _ = try await send(.DELETE, "/api/v1/tokens/\(Self.segment(name))")
    }

    // MARK: Health

    /// `GET /healthz`; throws when the hub is not reachable or not healthy.
    package func health() async throws(ClientError) {
        _ = try await send(.GET, "/healthz")
    }
}

extension HubClient {
    /// Asks an online agent, through the hub, for secret names (never values).
    package func listSecretNames(agent: String, provider: String?, prefix: String) async throws(ClientError) -> SecretListing {
        var query: [String] = []
        if let provider, let escaped = provider.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) {
            query.append("provider=\(escaped)")
        }
        if !prefix.isEmpty, let escaped = prefix.addingPercentEncoding(withAllowedCharacters: .alphanumerics) {
            query.append("prefix=\(escaped)")
        }
        let path = "/api/v1/agents/\(Self.segment(agent))/secrets" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        return try await call(.GET, path, timeout: .seconds(45))
    }
}
