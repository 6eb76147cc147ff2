/// How the `vault` provider gets its client token (the `auth` section).
///
/// `description` names the method and where credentials come from, never a
/// credential, so a configuration can be logged.
enum VaultAuthMethod: Sendable, Equatable, CustomStringConvertible {
    /// A token given as it is (`token`), read from a file (`token_file`) or
    /// taken from `VAULT_TOKEN` when no `auth` section is configured.
    case token(OptionCredential)
    /// `POST /v1/<path>/login` with `role_id` and `secret_id`.
    case appRole(roleID: String, secretID: OptionCredential, path: String)
    /// `POST /v1/<path>/login` with `role` and the service-account `jwt` read from `jwtFile`.
    case kubernetes(role: String, jwtFile: String, path: String)
    /// `POST /v1/<path>/login` with `role` and the `jwt` read from `tokenFile` (JWT/OIDC auth).
    case jwt(role: String, tokenFile: String, path: String)
    /// `POST /v1/<path>/login` with a signed `sts:GetCallerIdentity` request (AWS IAM auth).
    case aws(VaultAWSLogin)
    /// `POST /v1/<path>/login` over a TLS connection that presents the client certificate.
    case cert(VaultCertLogin)

    static let defaultAppRolePath = "auth/approle"
    static let defaultKubernetesPath = "auth/kubernetes"
    static let defaultJWTPath = "auth/jwt"
    static let defaultAWSPath = "auth/aws"
    static let defaultCertPath = "auth/cert"
    static let defaultJWTFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

    static let methods = "token, approle, kubernetes, jwt, aws or cert"

    /// Whether logging in again can give a different token (a literal token cannot change).
    var canRenew: Bool {
        switch self {
        case .token(.file): true
        case .token: false
        case .appRole, .kubernetes, .jwt, .aws, .cert: true
        }
    }

    var name: String {
        switch self {
        case .token: "token"
        case .appRole: "approle"
        case .kubernetes: "kubernetes"
        case .jwt: "jwt"
        case .aws: "aws"
        case .cert: "cert"
        }
    }

    /// The auth mount a login goes to (`auth/approle`); `nil` for a token.
    var path: String? {
        switch self {
        case .token: nil
        case .appRole(_, _, let path), .kubernetes(_, _, let path), .jwt(_, _, let path): path
        case .aws(let login): login.path
        case .cert(let login): login.path
        }
    }

    var description: String {
        switch self {
        case .token(let credential): "token (\(credential))"
        case .appRole(_, let secretID, let path): "approle at \(path) (secret_id \(secretID))"
        case .kubernetes(let role, let jwtFile, let path): "kubernetes at \(path) (role \(role), jwt_file \(jwtFile))"
        case .jwt(let role, let tokenFile, let path): "jwt at \(path) (role \(role), token_file \(tokenFile))"
        case .aws(let login): "\(login)"
        case .cert(let login): "\(login)"
        }
    }

    /// Reads the `auth` section, or `VAULT_TOKEN` from the agent's environment without one.
    /// - Throws: `.invalidConfiguration` naming the key.
    init(options: ProviderOptions, environment: [String: String]) throws(SecretError) {
        guard let auth = try options.section("auth") else {
            guard let token = environment["VAULT_TOKEN"], !token.isEmpty else {
                throw options.invalid(
                    "auth", "required: set auth (method \(Self.methods)) or VAULT_TOKEN in the agent's environment")
            }
            self = .token(.environment("VAULT_TOKEN", token))
            return
        }
        let method = try auth.require("method")
        switch method {
        case "token":
            try auth.rejectUnknownKeys(allowed: ["method", "token", "token_file"])
            self = .token(try OptionCredential(auth, literal: "token", file: "token_file"))
        case "approle":
            try auth.rejectUnknownKeys(allowed: ["method", "role_id", "secret_id", "secret_id_file", "path", "mount"])
            self = .appRole(
                roleID: try auth.require("role_id"),
                secretID: try OptionCredential(auth, literal: "secret_id", file: "secret_id_file"),
                path: try Self.authPath(auth, default: Self.defaultAppRolePath))
        case "kubernetes":
            try auth.rejectUnknownKeys(allowed: ["method", "role", "jwt_file", "path", "mount"])
            self = .kubernetes(
                role: try auth.require("role"),
                jwtFile: try auth.string("jwt_file") ?? Self.defaultJWTFile,
                path: try Self.authPath(auth, default: Self.defaultKubernetesPath))
        case "jwt":
            try auth.rejectUnknownKeys(allowed: ["method", "role", "token_file", "path", "mount"])
            guard let file = try auth.string("token_file"), !file.isEmpty else {
                throw auth.invalid("token_file", "required: the file holding the JWT (e.g. a projected service-account token)")
            }
            self = .jwt(
                role: try auth.require("role"), tokenFile: file, path: try Self.authPath(auth, default: Self.defaultJWTPath))
        case "aws":
            try auth.rejectUnknownKeys(allowed: VaultAWSLogin.optionKeys)
            self = .aws(
                try VaultAWSLogin(
                    options: auth, path: try Self.authPath(auth, default: Self.defaultAWSPath), environment: environment))
        case "cert":
            try auth.rejectUnknownKeys(allowed: VaultCertLogin.optionKeys)
            self = .cert(
                try VaultCertLogin(options: auth, path: try Self.authPath(auth, default: Self.defaultCertPath)))
        default:
            throw auth.invalid("method", "unknown auth method \"\(method)\"; use \(Self.methods)")
        }
    }

    /// The auth mount from `mount` or `path` (`auth/approle`); a trailing `/login`
    /// is accepted and dropped, and `auth/` is added when missing, so
    /// `auth/kubernetes/login`, `auth/kubernetes` and `kubernetes` mean the same.
    private static func authPath(_ auth: ProviderOptions, default fallback: String) throws(SecretError) -> String {
        let mount = try auth.string("mount")
        let path = try auth.string("path")
        if mount != nil, path != nil { throw auth.invalid("mount", "set either mount or path (the same thing), not both") }
        let key = mount != nil ? "mount" : "path"
        guard let text = mount ?? path else { return fallback }
        var segments: [String]
        do { segments = try VaultPath.split(text, what: "auth mount") } catch { throw auth.invalid(key, error.detail) }
        if segments.last == "login" { segments.removeLast() }
        guard !segments.isEmpty else { throw auth.invalid(key, "expected the auth mount, e.g. \(fallback.dropFirst(5))") }
        if segments.first != "auth" { segments.insert("auth", at: 0) }
        guard segments.count > 1 else { throw auth.invalid(key, "expected the auth mount, e.g. \(fallback.dropFirst(5))") }
        return segments.joined(separator: "/")
    }
}
