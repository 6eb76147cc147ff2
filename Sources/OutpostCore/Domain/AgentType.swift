package import Foundation

/// A pool of agents sharing one registration token and one set of naming and
/// admission rules (`outpost agent-type create`).
package struct AgentType: Codable, Sendable, Equatable {
    /// How a registering agent gets its name.
    package enum NamePolicy: String, Codable, Sendable, CaseIterable {
        /// The agent's `--name`, or a random readable one.
        case agent
        /// The hub names the agent after its verified AWS identity (STS `GetCallerIdentity`).
        case awsSTS = "aws-sts"
    }

    package var name: String
    package var namePolicy: NamePolicy
    /// For `aws-sts`: which account and roles may register, and where the hub checks.
    package var aws: AWSNamingRules?
    /// How long a disconnected agent's name stays reserved (refused to others); 0 releases it at once.
    package var nameReleaseSeconds: Double
    /// Only one online agent of this type may hold a given tag set.
    package var exclusive: Bool
    /// The tags its agents may carry (exact tags or `*` globs); an agent with any
    /// other tag is refused at registration. Empty: only agents without tags.
    package var allowedTags: [TagPattern]
    /// The registration token was revoked and not yet replaced: no agent can register.
    package var tokenRevoked: Bool
    /// Its agents get a short-lived certificate from the hub's CA at registration, and
    /// every later call must present it (mutual TLS) naming the agent of the token.
    package var requireClientCertificate: Bool
    /// The signed-task mode its agents are asked to enforce (a hint: an agent enforces
    /// the stricter of this and its own `require_signed_tasks`; the hub cannot enforce
    /// it, since a hub that could would be the one thing signatures guard against).
    package var signedTasks: SignedTaskMode
    package var createdAt: Date
    /// When the registration token was last issued (or revoked).
    package var tokenRotatedAt: Date

    package init(
        name: String, namePolicy: NamePolicy = .agent, aws: AWSNamingRules? = nil, nameReleaseSeconds: Double = 0,
        exclusive: Bool = false, allowedTags: [TagPattern] = [], tokenRevoked: Bool = false, createdAt: Date,
        tokenRotatedAt: Date, requireClientCertificate: Bool = false, signedTasks: SignedTaskMode = .off
    ) {
        self.name = name
        self.namePolicy = namePolicy
        self.aws = aws
        self.nameReleaseSeconds = nameReleaseSeconds
        self.exclusive = exclusive
        self.allowedTags = allowedTags
        self.tokenRevoked = tokenRevoked
        self.createdAt = createdAt
        self.tokenRotatedAt = tokenRotatedAt
        self.requireClientCertificate = requireClientCertificate
        self.signedTasks = signedTasks
    }

    enum CodingKeys: String, CodingKey {
        case name, aws, exclusive
        case namePolicy = "name_policy"
        case nameReleaseSeconds = "name_release_seconds"
        case allowedTags = "allowed_tags"
        case tokenRevoked = "token_revoked"
        case createdAt = "created_at"
        case tokenRotatedAt = "token_rotated_at"
        case requireClientCertificate = "require_client_cert"
        case signedTasks = "signed_tasks"
    }
}
