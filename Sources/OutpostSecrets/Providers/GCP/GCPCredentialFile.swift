import Foundation

/// A Google credentials file, of any type that `google.auth.load_credentials_from_file`
/// reads and this provider supports:
///
/// - `service_account`: a key file (a signed JWT traded at `token_uri`);
/// - `authorized_user`: a user's refresh token (`gcloud auth application-default login`);
/// - `external_account`: workload identity federation (a subject token from a file, a
///   URL or AWS, exchanged at STS, optionally for a service account's token);
/// - `impersonated_service_account`: another credential's token traded for a service
///   account's (`gcloud auth application-default login --impersonate-service-account`).
///
/// Every URL a token is asked at comes from the file itself (`token_uri`, `token_url`,
/// `service_account_impersonation_url`), as Google's own files name them.
indirect enum GCPCredentialFile: Sendable {
    case serviceAccount(GCPServiceAccountKey)
    case authorizedUser(GCPAuthorizedUser)
    case externalAccount(GCPExternalAccount)
    case impersonated(GCPImpersonatedAccount)

    /// The types this provider reads.
    static let types = ["service_account", "authorized_user", "external_account", "impersonated_service_account"]

    /// Reads and checks the file at `path`.
    /// - Throws: `.invalidConfiguration` naming the file and the problem, never its contents.
    static func load(path: String) throws(SecretError) -> GCPCredentialFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretError(
                .invalidConfiguration, "credentials file \(path) cannot be read (missing or not readable by the agent)")
        }
        guard data.count <= 1 << 20 else {
            throw SecretError(.invalidConfiguration, "credentials file \(path) is larger than 1 MiB; not a credentials file")
        }
        return try parse(data, path: path)
    }

    /// Parses a file's JSON (`nested`: the `source_credentials` of an impersonated account).
    static func parse(_ data: Data, path: String, nested: Bool = false) throws(SecretError) -> GCPCredentialFile {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SecretError(.invalidConfiguration, "credentials file \(path) is not a JSON object")
        }
        let origin = nested ? "credentials file \(path), source_credentials," : "credentials file \(path)"
        // A key file from before `type` existed is a service-account key.
        let type = object["type"] as? String ?? (object["private_key"] != nil ? "service_account" : "")
        switch type {
        case "service_account":
            return .serviceAccount(try GCPServiceAccountKey(json: data, path: path))
        case "authorized_user":
            return .authorizedUser(try GCPAuthorizedUser(object, in: origin))
        case "external_account":
            return .externalAccount(try GCPExternalAccount(object, in: origin))
        case "impersonated_service_account" where !nested:
            return .impersonated(try GCPImpersonatedAccount(object, path: path))
        case "":
            throw SecretError(.invalidConfiguration, "\(origin) has no \"type\"; expected one of \(types.joined(separator: ", "))")
        default:
            throw SecretError(
                .invalidConfiguration,
                "\(origin) holds \"\(type)\" credentials, which this agent does not support; use one of "
                    + (nested ? "service_account, authorized_user, external_account" : types.joined(separator: ", ")))
        }
    }

    /// The file's `type`.
    var type: String {
        switch self {
        case .serviceAccount: "service_account"
        case .authorizedUser: "authorized_user"
        case .externalAccount: "external_account"
        case .impersonated: "impersonated_service_account"
        }
    }

    /// A token with the `cloud-platform` scope.
    /// - Parameter environment: the agent's environment (AWS credentials and region of an AWS source).
    func fetchToken(http: SecretHTTP, environment: [String: String]) async throws(SecretError) -> OAuthToken {
        switch self {
        case .serviceAccount(let key): try await key.fetchToken(http: http)
        case .authorizedUser(let user): try await user.fetchToken(http: http)
        case .externalAccount(let account): try await account.fetchToken(http: http, environment: environment)
        case .impersonated(let account): try await account.fetchToken(http: http, environment: environment)
        }
    }

    /// The project the file points at, if any: a key's `project_id`; the project number
    /// in a workload identity pool's audience, else `workforce_pool_user_project`.
    var project: String? {
        switch self {
        case .serviceAccount(let key): key.projectID
        case .externalAccount(let account): account.project
        case .authorizedUser, .impersonated: nil
        }
    }

    /// The credentials the file holds (private key, client secret, refresh token, and what
    /// an external account's subject-token file holds now), so every task's log masks them.
    func heldCredentials() -> [(name: String, value: String)] {
        switch self {
        case .serviceAccount(let key): key.privatePEM.map { [(name: "private_key", value: $0)] } ?? []
        case .authorizedUser(let user):
            [(name: "client_secret", value: user.clientSecret), (name: "refresh_token", value: user.refreshToken)]
        case .externalAccount(let account): account.heldCredentials()
        case .impersonated(let account):
            account.source.heldCredentials().map { (name: "source_credentials.\($0.name)", value: $0.value) }
        }
    }
}

extension GCPCredentialFile {
    /// A required string field of a credentials file.
    static func string(_ object: [String: Any], _ key: String, in origin: String) throws(SecretError) -> String {
        guard let value = object[key] as? String, !value.isEmpty else {
            throw SecretError(.invalidConfiguration, "\(origin) has no \(key)")
        }
        return value
    }

    /// An optional http(s) URL field of a credentials file.
    static func url(_ object: [String: Any], _ key: String, in origin: String) throws(SecretError) -> String? {
        guard let value = object[key] else { return nil }
        guard let text = value as? String, isHTTPURL(text) else {
            throw SecretError(.invalidConfiguration, "\(origin): \(key) is not an http(s) URL")
        }
        return text
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return false }
        return true
    }
}
