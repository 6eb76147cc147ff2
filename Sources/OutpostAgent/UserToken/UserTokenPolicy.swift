import Foundation

/// How an agent checks user tokens (`jwk_url`, `jwt_issuer`, `jwt_audience`,
/// `jwt_leeway` in its configuration). Without a policy the agent runs tasks
/// without any user token.
package struct UserTokenPolicy: Sendable, Equatable {
    /// URL of the JSON Web Key Set (JWKS) tokens must verify against (http or https). Required.
    package var jwkURL: String
    /// The `iss` a token must carry; `nil` accepts any issuer. Default `nil`.
    package var issuer: String?
    /// A value the token's `aud` (string or array) must contain; `nil` accepts any audience. Default `nil`.
    package var audience: String?
    /// Clock skew tolerated when checking `exp` and `nbf`. Default 30 s.
    package var leeway: Duration
    /// Least time between two fetches of the key set (refreshes on an unknown `kid`, retries after a failure). Default 30 s.
    package var minimumRefreshInterval: Duration
    /// A key set older than this is fetched again before use, so a removed key stops verifying. Default 1 h.
    package var maximumKeySetAge: Duration

    package init(
        jwkURL: String,
        issuer: String? = nil,
        audience: String? = nil,
        leeway: Duration = .seconds(30),
        minimumRefreshInterval: Duration = .seconds(30),
        maximumKeySetAge: Duration = .seconds(3600)
    ) {
        self.jwkURL = jwkURL
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.minimumRefreshInterval = minimumRefreshInterval
        self.maximumKeySetAge = maximumKeySetAge
    }

    /// Checks every field, for the CLI to fail fast (exit 2) before the agent starts.
    /// - Throws: `.invalidConfiguration` naming the key (`jwk_url`, `jwt_issuer`, ...).
    package func validate() throws(AgentError) {
        guard let url = URL(string: jwkURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw AgentError(.invalidConfiguration, "jwk_url \"\(jwkURL)\" is not an http or https URL")
        }
        if let issuer, issuer.isEmpty {
            throw AgentError(.invalidConfiguration, "jwt_issuer is empty: remove it to accept any issuer")
        }
        if let audience, audience.isEmpty {
            throw AgentError(.invalidConfiguration, "jwt_audience is empty: remove it to accept any audience")
        }
        guard leeway >= .zero, leeway <= .seconds(600) else {
            throw AgentError(.invalidConfiguration, "jwt_leeway must be between 0 s and 10 min, not \(leeway)")
        }
        guard minimumRefreshInterval >= .zero, maximumKeySetAge > .zero else {
            throw AgentError(.invalidConfiguration, "the key set refresh interval and maximum age must be positive")
        }
    }
}

extension Duration {
    /// The duration in (fractional) seconds, for date arithmetic.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
