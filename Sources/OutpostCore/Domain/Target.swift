package import Foundation

/// Something tasks run against. Holds no secret values: only the names of secrets.
package struct Target: Codable, Sendable, Equatable {
    /// Unique name, the handle users type (`outpost task run NAME`).
    package var name: String
    /// How a script becomes a process (`bash`, `python`, ...).
    package var integration: String
    /// Routing tags: only agents carrying all of them run this target's tasks.
    package var tags: TagSet
    /// Agent types this target is pinned to (sorted, no duplicates): only their
    /// agents run its tasks, on top of the tag rule. Empty: any type.
    package var agentTypes: [String]
    /// Literal environment variables given to every task of this target.
    package var env: [String: String]
    /// Secrets the agent resolves right before a run (names only; see issue 3).
    package var secrets: [SecretReference]
    /// Default timeout of this target's tasks, in seconds; `nil` means the hub default.
    package var timeoutSeconds: Int?
    package var createdAt: Date

    package init(
        name: String,
        integration: String,
        tags: TagSet = .empty,
        agentTypes: [String] = [],
        env: [String: String] = [:],
        secrets: [SecretReference] = [],
        timeoutSeconds: Int? = nil,
        createdAt: Date = Date()
    ) {
        self.name = name
        self.integration = integration
        self.tags = tags
        self.agentTypes = Array(Set(agentTypes)).sorted()
        self.env = env
        self.secrets = secrets
        self.timeoutSeconds = timeoutSeconds
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case name, integration, tags, env, secrets
        case agentTypes = "agent_types"
        case timeoutSeconds = "timeout_seconds"
        case createdAt = "created_at"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        integration = try c.decode(String.self, forKey: .integration)
        tags = try c.decodeIfPresent(TagSet.self, forKey: .tags) ?? .empty
        agentTypes = Array(Set(try c.decodeIfPresent([String].self, forKey: .agentTypes) ?? [])).sorted()
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        secrets = try c.decodeIfPresent([SecretReference].self, forKey: .secrets) ?? []
        timeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .timeoutSeconds)
        createdAt = try c.decodeIfPresent(Date.self, forKey: .createdAt) ?? Date()
    }

    /// What its tasks ask of an agent (`Routing`).
    package var route: TaskRoute { TaskRoute(tags: tags, agentTypes: agentTypes) }
}

/// A reference to a secret held by a provider configured on the agent.
///
/// Only the provider's name, the secret's path and key names ever reach the hub.
package struct SecretReference: Codable, Sendable, Equatable {
    /// Name of a provider in the agent's `secrets.providers`.
    package var provider: String
    /// Path or name of the secret inside that provider.
    package var path: String
    /// Environment variable name → key inside the secret. Empty: every key of a
    /// JSON secret becomes a variable of the same name.
    package var mapping: [String: String]

    package init(provider: String, path: String, mapping: [String: String] = [:]) {
        self.provider = provider
        self.path = path
        self.mapping = mapping
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        provider = try c.decode(String.self, forKey: .provider)
        path = try c.decode(String.self, forKey: .path)
        mapping = try c.decodeIfPresent([String: String].self, forKey: .mapping) ?? [:]
    }
}
