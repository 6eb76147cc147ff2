import Crypto
import Foundation
import SwiftASN1
import X509

/// A small, faithful fake of HashiCorp Vault's HTTP API, served over a real
/// socket by `run { address in ... }`, for testing the `vault` secret provider
/// (and driven by the official `hvac` client in `Tests/SDKProofs/vault_proof.py`).
///
/// What it does as Vault documents it:
/// - KV v1 mounts (`GET /v1/<mount>/<path>` → `data`) and KV v2 mounts
///   (`GET /v1/<mount>/data/<path>[?version=N]` → `data.data` + `data.metadata`),
///   versions with soft delete and destroy (a 404 that still carries the metadata);
/// - listing with `GET ...?list=true` (or the `LIST` method) on
///   `/v1/<mount>/metadata/<folder>/` (v2) or `/v1/<mount>/<folder>/` (v1):
///   `data.keys`, folders ending in `/`, 404 for an empty folder;
/// - tokens in `X-Vault-Token` with a TTL, a max TTL, revocation and path policies;
///   `auth/token/lookup-self` and `auth/token/renew-self` (renewable tokens only,
///   the lease capped at the max TTL);
/// - logins at `POST /v1/<mount>/login`: AppRole (`role_id`, `secret_id`),
///   Kubernetes (`role`, `jwt` compared with the role's configured JWT), JWT
///   (`role`, `jwt`: an ES256 signature checked against the role's public key,
///   `exp`, `nbf`, `aud` and `sub`), AWS IAM (`iam_*` fields: the decoded
///   `GetCallerIdentity` request is sent to the configured STS endpoint, moto in
///   the tests, which checks its signature; the caller's ARN must match the role's
///   `bound_iam_principal_arn`; `X-Vault-AWS-IAM-Server-ID` must be signed and
///   match), and TLS certificates (the client certificate of the TLS connection,
///   `run(tls:clientCAs:)`, must be issued by the role's CA);
/// - `X-Vault-Request: true` required on every request, as Vault Agent and Vault
///   Proxy with `require_request_header` do (412 without it; switchable);
/// - an enterprise namespace checked against `X-Vault-Namespace`;
/// - errors as `{"errors": [...]}` with Vault's status codes (403 permission
///   denied, 404, 400 for bad login input, 412 for a lagging standby).
///
/// Faults to inject: slow answers, the next N requests failing with a status
/// (412 included), malformed bodies, revoked or expired tokens. Counters say
/// what reached it.
package actor FakeVault {
    /// What kind of request reached the fake, for counting.
    package enum RequestKind: Sendable, Hashable {
        /// `other` is `auth/token/lookup-self` and `sys/health`.
        case read, list, login, renew, other
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
        var renewable = false
        /// No renewal goes past this.
        var maxExpires: ContinuousClock.Instant?
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

    struct JWTRole {
        var publicKey: P256.Signing.PublicKey
        var boundAudiences: [String]
        var boundSubject: String?
        var tokenTTL: Int
        var policies: [String]
    }

    /// An AWS auth mount's client configuration (`auth/aws/config/client`).
    struct AWSConfig {
        var stsEndpoint: String
        var serverID: String?
    }

    struct AWSRole {
        var boundPrincipals: [String]
        var tokenTTL: Int
        var policies: [String]
    }

    struct CertRole {
        var certificate: Certificate
        var allowedCommonNames: [String]?
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
    /// JWT auth mounts (`auth/jwt`) → roles by name.
    var jwtRoles: [String: [String: JWTRole]] = [:]
    /// AWS auth mounts (`auth/aws`) → their STS configuration, and roles by name.
    var awsConfigs: [String: AWSConfig] = [:]
    var awsRoles: [String: [String: AWSRole]] = [:]
    /// Certificate auth mounts (`auth/cert`) → roles by name.
    var certRoles: [String: [String: CertRole]] = [:]
    /// Whether a request without `X-Vault-Request: true` is refused.
    var requiresRequestHeader = true
    let clock = ContinuousClock()

    // Faults.
    var delay: Duration = .zero
    var failures: [(status: Int, kinds: Set<RequestKind>)] = []
    var malformedReplies = 0

    // Counters.
    var counts: [RequestKind: Int] = [:]
    var rejectedTokens = 0
    var seenNamespaces: [String?] = []
    var stsRequests = 0
    var missingRequestHeaders = 0
    var loginsByMethod: [String: Int] = [:]

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
    /// A `renewable` token with a `ttl` can be renewed (`auth/token/renew-self`) by `ttl` at a
    /// time, never past `maxTTL` from now.
    package func addToken(
        _ token: String, ttl: Duration? = nil, policies: [String] = ["*"], renewable: Bool = false, maxTTL: Duration? = nil
    ) {
        let seconds = ttl.map { Int($0.components.seconds) } ?? 0
        tokens[token] = TokenInfo(
            policies: policies, ttlSeconds: seconds, expires: ttl.map { clock.now + $0 }, renewable: renewable && ttl != nil,
            maxExpires: maxTTL.map { clock.now + $0 })
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

    /// A JWT/OIDC role at `path` (default `auth/jwt`): a login's `jwt` must be an ES256 token
    /// signed by `issuer` (`jwt_validation_pubkeys`), unexpired, with `aud` among
    /// `boundAudiences` and, when `boundSubject` is set, that `sub`.
    package func addJWTRole(
        _ name: String, issuer: FakeJWTIssuer, boundAudiences: [String], boundSubject: String? = nil,
        tokenTTL: Duration = .seconds(3600), policies: [String] = ["*"], path: String = "auth/jwt"
    ) {
        jwtRoles[path, default: [:]][name] = JWTRole(
            publicKey: issuer.key.publicKey, boundAudiences: boundAudiences, boundSubject: boundSubject,
            tokenTTL: Int(tokenTTL.components.seconds), policies: policies)
    }

    /// The AWS auth mount at `path` (default `auth/aws`) sends the signed `GetCallerIdentity`
    /// requests of logins to `stsEndpoint` (`sts_endpoint` of `auth/aws/config/client`), and,
    /// with `serverID`, requires that value in a signed `X-Vault-AWS-IAM-Server-ID` header
    /// (`iam_server_id_header_value`).
    package func configureAWS(stsEndpoint: String, serverID: String? = nil, path: String = "auth/aws") {
        awsConfigs[path] = AWSConfig(
            stsEndpoint: stsEndpoint.hasSuffix("/") ? String(stsEndpoint.dropLast()) : stsEndpoint, serverID: serverID)
    }

    /// An AWS role (`auth_type=iam`) at `path`: a caller whose ARN STS reports is one of
    /// `boundIAMPrincipalARNs` (a trailing `*` matches any rest; a role's ARN also matches
    /// its sessions, `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`) may log in.
    package func addAWSRole(
        _ name: String, boundIAMPrincipalARNs: [String], tokenTTL: Duration = .seconds(3600),
        policies: [String] = ["*"], path: String = "auth/aws"
    ) {
        awsRoles[path, default: [:]][name] = AWSRole(
            boundPrincipals: boundIAMPrincipalARNs, tokenTTL: Int(tokenTTL.components.seconds), policies: policies)
    }

    /// A certificate role at `path` (default `auth/cert`): a login whose TLS connection
    /// presented a certificate issued by `caPEM` (and, with `allowedCommonNames`, with one
    /// of those common names) gets a token. The server must ask for client certificates:
    /// `run(tls:clientCAs:)`.
    package func addCertRole(
        _ name: String, caPEM: String, allowedCommonNames: [String]? = nil, tokenTTL: Duration = .seconds(3600),
        policies: [String] = ["*"], path: String = "auth/cert"
    ) throws {
        certRoles[path, default: [:]][name] = CertRole(
            certificate: try Certificate(pemEncoded: caPEM), allowedCommonNames: allowedCommonNames,
            tokenTTL: Int(tokenTTL.components.seconds), policies: policies)
    }

    /// Whether requests without `X-Vault-Request: true` are refused with 412 (the default),
    /// as Vault Agent and Vault Proxy with `require_request_header` do.
    package func requireRequestHeader(_ required: Bool) {
        requiresRequestHeader = required
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

    /// The next `count` successful answers (but those of `lookup-self` and `sys/health`)
    /// carry a body that is not JSON.
    package func answerMalformed(_ count: Int) {
        malformedReplies = count
    }

    /// Revokes every token issued or added so far (Vault then answers 403 permission denied).
    package func revokeAllTokens() {
        for token in tokens.keys { tokens[token]?.revoked = true }
    }

    /// Revokes one token.
    package func revokeToken(_ token: String) {
        tokens[token]?.revoked = true
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

    /// Signed `GetCallerIdentity` requests the fake sent to STS for AWS logins.
    package func stsRequestCount() -> Int {
        stsRequests
    }

    /// Requests refused for lacking `X-Vault-Request: true`.
    package func missingRequestHeaderCount() -> Int {
        missingRequestHeaders
    }

    /// Successful logins of `method` (`approle`, `kubernetes`, `jwt`, `aws`, `cert`).
    package func loginCount(_ method: String) -> Int {
        loginsByMethod[method, default: 0]
    }
}

/// An issuer of ES256 JWTs (a Kubernetes cluster's service-account signer, a CI
/// system's OIDC provider) for `FakeVault.addJWTRole`.
package struct FakeJWTIssuer: Sendable {
    let key = P256.Signing.PrivateKey()

    package init() {}

    /// A signed token with `claims`.
    package func token(_ claims: [String: Any]) throws -> String {
        func encode(_ object: Any) throws -> String {
            Self.base64URL(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        }
        let input = try encode(["alg": "ES256", "typ": "JWT"]) + "." + (try encode(claims))
        let signature = try key.signature(for: Data(input.utf8))
        return input + "." + Self.base64URL(signature.rawRepresentation)
    }

    /// A token for `subject` and `audience`, valid from a minute ago for `lifetime`.
    package func token(subject: String, audience: String, lifetime: Double = 600) throws -> String {
        let now = Date().timeIntervalSince1970
        return try token([
            "iss": "https://issuer.test", "sub": subject, "aud": audience, "iat": Int(now) - 60, "nbf": Int(now) - 60,
            "exp": Int(now + lifetime),
        ])
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
