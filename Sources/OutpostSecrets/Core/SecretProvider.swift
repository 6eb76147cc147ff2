package import AsyncHTTPClient
package import Logging

/// One configured secret store (`env`, AWS Secrets Manager, Vault, ...).
///
/// Implementations only talk to their store. Caching, coalescing, the overall
/// per-request timeout and retries live in `ManagedProvider`, and splitting a
/// payload into environment variables in `SecretSet`, so every provider behaves
/// the same there.
package protocol SecretProvider: Sendable {
    /// Fetches the secret at `path` as the store holds it.
    /// - Throws: `SecretError` (`.notFound`, `.denied`, `.unreachable`, `.malformed`).
    ///   Context (provider, path) is filled in by the caller; `detail` says what the store answered.
    func fetch(path: String) async throws(SecretError) -> SecretPayload

    /// Names of the secrets under `prefix` (empty: all), never their values.
    /// - Throws: `SecretError`; `.unsupported` when the store cannot list.
    func list(prefix: String) async throws(SecretError) -> [String]

    /// Every value this provider could hand a task without a network call (the `env`
    /// provider: each variable it may read), so the agent masks them in every task's
    /// log, also in tasks that do not reference them. Default: none.
    var heldValues: [NamedSecretValue] { get }
}

extension SecretProvider {
    package var heldValues: [NamedSecretValue] { [] }
}

/// What a provider gets from the agent when it is built.
package struct ProviderContext: Sendable {
    /// Shared HTTP client (connection pooling across providers).
    package var http: HTTPClient
    package var logger: Logger
    /// The agent's own environment (AWS_* variables, Vault tokens, ...).
    package var environment: [String: String]
    /// Upper bound of one request to the store (`timeout` option, default 10 s).
    package var requestTimeout: Duration

    package init(http: HTTPClient, logger: Logger, environment: [String: String], requestTimeout: Duration = .seconds(10)) {
        self.http = http
        self.logger = logger
        self.environment = environment
        self.requestTimeout = requestTimeout
    }
}
