import Foundation

/// A small, faithful fake of HashiCorp Vault's HTTP API, served over a real
/// socket by `run { address in ... }`, for testing the `vault` secret provider.
///
/// What it does as Vault documents it:
/// - KV v1 mounts (`GET /v1/<mount>/<path>` → `data`) and KV v2 mounts
///   (`GET /v1/<mount>/data/<path>[?version=N]` → `data.data` + `data.metadata`),
///   versions with soft delete and destroy (a 404 that still carries the metadata);
/// - listing with `GET ...?list=true` (or the `LIST` method) on
///   `/v1/<mount>/metadata/<folder>/` (v2) or `/v1/<mount>/<folder>/` (v1):
///   `data.keys`, folders ending in `/`, 404 for an empty folder;
/// - tokens in `X-Vault-Token` with a TTL, revocation and path policies;
///   AppRole login (`POST /v1/<path>/login` with `role_id`, `secret_id`) and
///   Kubernetes login (`role`, `jwt` compared with the role's configured JWT);
/// - an enterprise namespace checked against `X-Vault-Namespace`;
/// - errors as `{"errors": [...]}` with Vault's status codes (403 permission
///   denied, 404, 400 for bad login input).
///
/// Faults to inject: slow answers, the next N requests failing with a status,
/// malformed bodies, revoked or expired tokens. Counters say what reached it.
package actor FakeVault {
    /// What kind of request reached the fake, for counting.
    package enum RequestKind: Sendable, Hashable {
        case read, list, login, other
    }

    struct Version {
        var data: [String: String]
        var created: Date
        var deleted: Date?
        var destroyed = false
    }

    struct Mount {
        var kvVersion: Int
        /// Secrets by path below the mount; v1 keeps one version.
        var secrets: [String: [Version]] = [:]
    }

    struct TokenInfo {
        var policies: [String]
        var ttlSeconds: Int
        var expires: ContinuousClock.Instant?
        var revoked = false
    }

    struct AppRole {
        var roleID: String
        var secretID: String
        var tokenTTL: Int
        var policies: [String]
    }

    struct KubernetesRole {
        var jwt: String
        var tokenTTL: Int
        var policies: [String]
    }

    /// The namespace every request must name in `X-Vault-Namespace`; `nil`: the root namespace.
    package let namespace: String?
    var mounts: [String: Mount] = [:]
    var tokens: [String: TokenInfo] = [:]
    /// AppRole auth mounts (`auth/approle`) → roles by name.
    var appRoles: [String: [String: AppRole]] = [:]
    /// Kubernetes auth mounts (`auth/kubernetes`) → roles by name.
    var kubernetesRoles: [String: [String: KubernetesRole]] = [:]
    let clock = ContinuousClock()

    // Faults.
    var delay: Duration = .zero
    var failures: [(status: Int, kinds: Set<RequestKind>)] = []
    var malformedReplies = 0

    // Counters.
    var counts: [RequestKind: Int] = [:]
    var rejectedTokens = 0
    var seenNamespaces: [String?] = []

    /// - Parameter namespace: the enterprise namespace the mounts, tokens and roles live in.
    package init(namespace: String? = nil) {
        self.namespace = namespace
        mounts["secret"] = Mount(kvVersion: 2)
    }

    // MARK: Set-up

    /// Mounts a KV engine (`secret` is mounted as KV v2 from the start).
    package func mount(_ path: String, kvVersion: Int) {
        mounts[path] = Mount(kvVersion: kvVersion)
    }

    /// Writes a secret: a new version on KV v2, a replacement on KV v1.
    /// - Returns: the version written.
    @discardableResult
    package func put(mount: String = "secret", _ path: String, _ data: [String: String]) -> Int {
        var engine = mounts[mount] ?? Mount(kvVersion: 2)
        let version = Version(data: data, created: Date())
        if engine.kvVersion == 1 {
            engine.secrets[path] = [version]
        } else {
            engine.secrets[path, default: []].append(version)
        }
        mounts[mount] = engine
        return engine.secrets[path]?.count ?? 0
    }

    /// Soft-deletes one KV v2 version (it can no longer be read; its metadata stays).
    package func deleteVersion(mount: String = "secret", _ path: String, version: Int) {
        mounts[mount]?.secrets[path]?[version - 1].deleted = Date()
    }

    /// Destroys one KV v2 version for good.
    package func destroyVersion(mount: String = "secret", _ path: String, version: Int) {
        mounts[mount]?.secrets[path]?[version - 1].destroyed = true
        mounts[mount]?.secrets[path]?[version - 1].data = [:]
    }

    /// A token Vault accepts; `policies` are API path prefixes it may read (`secret/data/app/`), `*` for all.
    package func addToken(_ token: String, ttl: Duration? = nil, policies: [String] = ["*"]) {
        let seconds = ttl.map { Int($0.components.seconds) } ?? 0
        tokens[token] = TokenInfo(policies: policies, ttlSeconds: seconds, expires: ttl.map { clock.now + $0 })
    }

    /// An AppRole role at `path` (default `auth/approle`); its logins get tokens living `tokenTTL`.
    package func addAppRole(
        _ name: String, roleID: String, secretID: String, tokenTTL: Duration = .seconds(3600),
        policies: [String] = ["*"], path: String = "auth/approle"
    ) {
        appRoles[path, default: [:]][name] = AppRole(
            roleID: roleID, secretID: secretID, tokenTTL: Int(tokenTTL.components.seconds), policies: policies)
    }

    /// A Kubernetes role at `path` (default `auth/kubernetes`) accepting exactly `jwt`.
    package func addKubernetesRole(
        _ name: String, jwt: String, tokenTTL: Duration = .seconds(3600), policies: [String] = ["*"],
        path: String = "auth/kubernetes"
    ) {
        kubernetesRoles[path, default: [:]][name] = KubernetesRole(
            jwt: jwt, tokenTTL: Int(tokenTTL.components.seconds), policies: policies)
    }

    // MARK: Faults

    /// Every answer waits `delay` first (a slow or overloaded server).
    package func setDelay(_ delay: Duration) {
        self.delay = delay
    }

    /// The next `count` requests of `kinds` answer `status` with `{"errors": ["..."]}`.
    package func failNext(_ count: Int, status: Int = 500, kinds: Set<RequestKind> = [.read, .list, .login]) {
        failures.append(contentsOf: Array(repeating: (status, kinds), count: count))
    }

    /// The next `count` successful answers carry a body that is not JSON.
    package func answerMalformed(_ count: Int) {
        malformedReplies = count
    }

    /// Revokes every token issued or added so far (Vault then answers 403 permission denied).
    package func revokeAllTokens() {
        for token in tokens.keys { tokens[token]?.revoked = true }
    }

    /// Lets every token's TTL run out now, server-side only (the client still thinks it is valid).
    package func expireAllTokens() {
        for token in tokens.keys { tokens[token]?.expires = clock.now }
    }

    // MARK: Counters

    /// How many requests of `kind` reached the fake (answered or failed).
    package func count(_ kind: RequestKind) -> Int {
        counts[kind, default: 0]
    }

    /// Requests that came with a missing, unknown, revoked or expired token.
    package func rejectedTokenCount() -> Int {
        rejectedTokens
    }

    /// The `X-Vault-Namespace` of every request, in order.
    package func namespacesSeen() -> [String?] {
        seenNamespaces
    }

    /// Tokens issued by logins and added by the test.
    package func tokenCount() -> Int {
        tokens.count
    }

    /// Runs a real HTTP server for the duration of `body`, passing its address (`http://127.0.0.1:PORT`).
    package nonisolated func run<T: Sendable>(
        tls: TestCredential? = nil, _ body: @Sendable (String) async throws -> T
    ) async throws -> T {
        try await withFakeServer(router(), tls: tls, body)
    }
}
