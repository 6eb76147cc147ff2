import Foundation
import NIOHTTP1

/// How the Secret Manager provider gets a Google access token (`auth:`).
enum GCPCredential: Sendable {
    /// A Google credentials file (`GCPCredentialFile`). The file is read again for every
    /// token, so a rotated key or a rewritten file needs no restart.
    case file(File)
    /// The metadata server of a GCE VM, GKE pod or Cloud Run service (`method: metadata`).
    case metadata(Metadata)

    struct File: Sendable {
        var path: String
        /// Where the path came from, for messages (`auth.credentials_file`, `GOOGLE_APPLICATION_CREDENTIALS`, ...).
        var origin: String
        /// The `type` the file must keep having (`method` named one), or `nil` for any.
        var type: String?
    }

    struct Metadata: Sendable {
        /// Base URL of the metadata server (`metadata_endpoint`, else
        /// `http://$GCE_METADATA_HOST`, else http://metadata.google.internal).
        var baseURL: String
        /// The service account whose token is asked for (`service_account`, default "default").
        var account: String
    }

    static let scope = "https://www.googleapis.com/auth/cloud-platform"
    static let defaultMetadataURL = "http://metadata.google.internal"
    /// The file methods: `method` names the file's `type`.
    static let fileMethods = ["service_account", "authorized_user", "external_account", "impersonated_service_account"]
    private static let metadataKeys: Set<String> = ["metadata_endpoint", "service_account"]

    /// Reads the `auth` section (see docs/secrets.md, "Auth methods").
    ///
    /// `method: default` (also without `method`) finds credentials as google-auth's
    /// `default()` does: `credentials_file`, else the file `GOOGLE_APPLICATION_CREDENTIALS`
    /// names, else gcloud's application-default credentials file
    /// (`$CLOUDSDK_CONFIG/application_default_credentials.json`, default
    /// `~/.config/gcloud/...`) when it exists, else the metadata server.
    /// - Returns: the credential and, for a file, the file as read now (project, credentials to mask).
    static func make(
        auth: ProviderOptions, environment: [String: String]
    ) throws(SecretError) -> (GCPCredential, GCPCredentialFile?) {
        let fromEnvironment = environment["GOOGLE_APPLICATION_CREDENTIALS"].flatMap { $0.isEmpty ? nil : $0 }
        let method = try auth.string("method") ?? "default"
        switch method {
        case "default":
            try auth.rejectUnknownKeys(allowed: metadataKeys.union(["method", "credentials_file"]))
            if let path = try auth.string("credentials_file") {
                return try loadFile(path, origin: "credentials_file", type: nil, auth: auth, key: "credentials_file")
            }
            if let path = fromEnvironment {
                return try loadFile(path, origin: "GOOGLE_APPLICATION_CREDENTIALS", type: nil, auth: auth, key: "credentials_file")
            }
            if let path = wellKnownFile(environment), FileManager.default.fileExists(atPath: path) {
                return try loadFile(
                    path, origin: "gcloud's application-default credentials file", type: nil, auth: auth,
                    key: "credentials_file")
            }
            return (.metadata(try metadata(auth: auth, environment: environment)), nil)
        case _ where fileMethods.contains(method):
            // `key_file` is the service-account key's historical name.
            let explicitFile = try auth.string("credentials_file")
            let key = method == "service_account" && explicitFile == nil ? "key_file" : "credentials_file"
            try auth.rejectUnknownKeys(allowed: ["method", key])
            if let path = try auth.string(key), !path.isEmpty {
                return try loadFile(path, origin: key, type: method, auth: auth, key: key)
            }
            guard let path = fromEnvironment else {
                throw auth.invalid(key, "required for \(method) (or set GOOGLE_APPLICATION_CREDENTIALS)")
            }
            return try loadFile(path, origin: "GOOGLE_APPLICATION_CREDENTIALS", type: method, auth: auth, key: key)
        case "metadata":
            try auth.rejectUnknownKeys(allowed: metadataKeys.union(["method"]))
            return (.metadata(try metadata(auth: auth, environment: environment)), nil)
        default:
            throw auth.invalid(
                "method",
                "unknown auth method \"\(method)\"; use default, \(fileMethods.joined(separator: ", ")) or metadata")
        }
    }

    /// gcloud's application-default credentials file.
    static func wellKnownFile(_ environment: [String: String]) -> String? {
        if let config = environment["CLOUDSDK_CONFIG"], !config.isEmpty {
            return config + "/application_default_credentials.json"
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.config/gcloud/application_default_credentials.json"
    }

    private static func loadFile(
        _ path: String, origin: String, type: String?, auth: ProviderOptions, key: String
    ) throws(SecretError) -> (GCPCredential, GCPCredentialFile?) {
        let loaded: GCPCredentialFile
        do throws(SecretError) {
            if type == "service_account" {
                // Its own messages: "key file ... holds authorized_user credentials; ...".
                loaded = .serviceAccount(try GCPServiceAccountKey.load(path: path))
            } else {
                loaded = try GCPCredentialFile.load(path: path)
            }
            if let type, loaded.type != type {
                throw SecretError(
                    .invalidConfiguration,
                    "credentials file \(path) holds \"\(loaded.type)\" credentials, not \(type); "
                        + "use method \(loaded.type) or default")
            }
        } catch {
            let detail = origin == key ? error.detail : "\(error.detail) (found through \(origin))"
            throw auth.invalid(key, detail)
        }
        return (.file(File(path: path, origin: origin, type: type)), loaded)
    }

    private static func metadata(auth: ProviderOptions, environment: [String: String]) throws(SecretError) -> Metadata {
        var baseURL = defaultMetadataURL
        if let configured = try auth.url("metadata_endpoint") {
            baseURL = configured
        } else if let host = environment["GCE_METADATA_HOST"], !host.isEmpty {
            baseURL = "http://\(host)"
        }
        let account = try auth.string("service_account") ?? "default"
        guard CloudText.isPlain(account, extra: "@.-_") else {
            throw auth.invalid("service_account", "expected \"default\" or a service account's email")
        }
        return Metadata(baseURL: baseURL, account: account)
    }

    /// Gets a token with the `cloud-platform` scope.
    /// - Throws: `.denied` when refused, `.unreachable` when an endpoint cannot be
    ///   reached or answers 408/429/5xx, `.invalidConfiguration` when the file went bad.
    func fetchToken(http: SecretHTTP, environment: [String: String]) async throws(SecretError) -> OAuthToken {
        switch self {
        case .file(let file):
            let loaded = try GCPCredentialFile.load(path: file.path)
            if let type = file.type, loaded.type != type {
                throw SecretError(
                    .invalidConfiguration,
                    "credentials file \(file.path) now holds \"\(loaded.type)\" credentials, not \(type)")
            }
            return try await loaded.fetchToken(http: http, environment: environment)
        case .metadata(let metadata):
            let url = "\(metadata.baseURL)/computeMetadata/v1/instance/service-accounts/\(metadata.account)/token"
            let response = try await http.send(.GET, url, headers: [("Metadata-Flavor", "Google")])
            let source = "the metadata server (\(SecretHTTP.host(of: metadata.baseURL)))"
            return try GCPTokenAnswer.oauth(response, source: source, hiding: [])
        }
    }

    /// The project the metadata server runs in (`project/project-id`).
    func metadataProject(http: SecretHTTP) async throws(SecretError) -> String? {
        guard case .metadata(let metadata) = self else { return nil }
        let response = try await http.send(
            .GET, "\(metadata.baseURL)/computeMetadata/v1/project/project-id", headers: [("Metadata-Flavor", "Google")])
        guard (200..<300).contains(response.status) else {
            throw SecretError(
                response.status == 429 || response.status >= 500 ? .unreachable : .denied,
                "the metadata server answered HTTP \(response.status) when asked for the project id; set project")
        }
        let project = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard CloudText.isPlain(project, extra: "-.:") else {
            throw SecretError(.malformed, "the metadata server answered with something that is not a project id; set project")
        }
        return project
    }
}
