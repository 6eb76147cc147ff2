package import Foundation

/// Body of `POST /api/v1/tokens`.
package struct CreateAPITokenRequest: Codable, Sendable, Equatable {
    /// Unique among live tokens; recorded as `created_by` of the tasks it submits.
    package var name: String
    package var role: APIRole

    package init(name: String, role: APIRole) {
        self.name = name
        self.role = role
    }
}

/// A named API token as the API shows it: never the token, never its hash.
package struct APITokenInfo: Codable, Sendable, Equatable {
    package var name: String
    package var role: APIRole
    package var createdAt: Date
    /// When it last authenticated a request, to the minute; `nil` if never.
    package var lastUsedAt: Date?

    package init(name: String, role: APIRole, createdAt: Date, lastUsedAt: Date? = nil) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    enum CodingKeys: String, CodingKey {
        case name, role
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(role, forKey: .role)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(lastUsedAt, forKey: .lastUsedAt)  // null rather than absent: "never used"
    }
}

/// Answer to creating or rotating an API token: the only time the token is shown.
package struct APITokenResponse: Codable, Sendable, Equatable {
    package var apiToken: APITokenInfo
    package var token: String

    package init(apiToken: APITokenInfo, token: String) {
        self.apiToken = apiToken
        self.token = token
    }

    enum CodingKeys: String, CodingKey {
        case token
        case apiToken = "api_token"
    }
}
