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

    static let defaultAppRolePath = "auth/approle"
    static let defaultKubernetesPath = "auth/kubernetes"
    static let defaultJWTFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

    /// Whether logging in again can give a different token (a literal token cannot change).
    var canRenew: Bool {
        switch self {
        case .token(.file): true
        case .token: false
        case .appRole, .kubernetes: true
        }
    }

    var name: String {
        switch self {
        case .token: "token"
        case .appRole: "approle"
        case .kubernetes: "kubernetes"
        }
    }

    var description: String {
        switch self {
        case .token(let credential): "token (\(credential))"
        case .appRole(_, let secretID, let path): "approle at \(path) (secret_id \(secretID))"
        case .kubernetes(let role, let jwtFile, let path): "kubernetes at \(path) (role \(role), jwt_file \(jwtFile))"
        }
    }

    /// Reads the `auth` section, or `VAULT_TOKEN` from the agent's environment without one.
    /// - Throws: `.invalidConfiguration` naming the key.
    init(options: ProviderOptions, environment: [String: String]) throws(SecretError) {
        guard let auth = try options.section("auth") else {
            guard let token = environment["VAULT_TOKEN"], !token.isEmpty else {
                throw options.invalid(
                    "auth", "required: set auth (method token, approle or kubernetes) or VAULT_TOKEN in the agent's environment")
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
            try auth.rejectUnknownKeys(allowed: ["method", "role_id", "secret_id", "secret_id_file", "path"])
            self = .appRole(
                roleID: try auth.require("role_id"),
                secretID: try OptionCredential(auth, literal: "secret_id", file: "secret_id_file"),
                path: try Self.authPath(auth, default: Self.defaultAppRolePath))
        case "kubernetes":
            try auth.rejectUnknownKeys(allowed: ["method", "role", "jwt_file", "path"])
            self = .kubernetes(
                role: try auth.require("role"),
                jwtFile: try auth.string("jwt_file") ?? Self.defaultJWTFile,
                path: try Self.authPath(auth, default: Self.defaultKubernetesPath))
        default:
            throw auth.invalid("method", "unknown auth method \"\(method)\"; use token, approle or kubernetes")
        }
    }

    /// The auth mount (`auth/approle`); a trailing `/login` is accepted and dropped,
    /// so `auth/kubernetes/login` as the issue spells it works too.
    private static func authPath(_ auth: ProviderOptions, default fallback: String) throws(SecretError) -> String {
        guard let text = try auth.string("path") else { return fallback }
        var segments: [String]
        do { segments = try VaultPath.split(text, what: "auth path") } catch { throw auth.invalid("path", error.detail) }
        if segments.last == "login" { segments.removeLast() }
        guard !segments.isEmpty else { throw auth.invalid("path", "expected the auth mount, e.g. \(fallback)") }
        if segments.first != "auth" { segments.insert("auth", at: 0) }
        return segments.joined(separator: "/")
    }
}
