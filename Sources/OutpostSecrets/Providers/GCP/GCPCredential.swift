import Foundation
import NIOHTTP1

/// How the Secret Manager provider gets a Google access token (`auth:`).
enum GCPCredential: Sendable {
    /// A service-account key file: a signed JWT traded at the key's `token_uri`
    /// (`method: service_account`). The file is read again for every token, so a
    /// rotated key needs no restart.
    case serviceAccount(keyFile: String)
    /// The metadata server of a GCE VM, GKE pod or Cloud Run service (`method: metadata`).
    case metadata(Metadata)

    struct Metadata: Sendable {
        /// Base URL of the metadata server (`metadata_endpoint`, else
        /// `http://$GCE_METADATA_HOST`, else http://metadata.google.internal).
        var baseURL: String
        /// The service account whose token is asked for (`service_account`, default "default").
        var account: String
    }

    static let scope = "https://www.googleapis.com/auth/cloud-platform"
    static let defaultMetadataURL = "http://metadata.google.internal"
    private static let serviceAccountKeys: Set<String> = ["method", "key_file"]
    private static let metadataKeys: Set<String> = ["method", "metadata_endpoint", "service_account"]

    /// Reads the `auth` section. Without `method`: the key file named by
    /// `GOOGLE_APPLICATION_CREDENTIALS` when that is set, else the metadata server.
    /// - Returns: the credential and, for a key file, the key (for its `project_id`).
    static func make(
        auth: ProviderOptions, environment: [String: String]
    ) throws(SecretError) -> (GCPCredential, GCPServiceAccountKey?) {
        let defaultKeyFile = environment["GOOGLE_APPLICATION_CREDENTIALS"].flatMap { $0.isEmpty ? nil : $0 }
        let method = try auth.string("method") ?? (defaultKeyFile == nil ? "metadata" : "service_account")
        switch method {
        case "service_account":
            try auth.rejectUnknownKeys(allowed: serviceAccountKeys)
            guard let path = try auth.string("key_file") ?? defaultKeyFile, !path.isEmpty else {
                throw auth.invalid("key_file", "required for service_account (or set GOOGLE_APPLICATION_CREDENTIALS)")
            }
            do {
                return (.serviceAccount(keyFile: path), try GCPServiceAccountKey.load(path: path))
            } catch {
                throw auth.invalid("key_file", error.detail)
            }
        case "metadata":
            try auth.rejectUnknownKeys(allowed: metadataKeys)
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
            return (.metadata(Metadata(baseURL: baseURL, account: account)), nil)
        default:
            throw auth.invalid("method", "unknown auth method \"\(method)\"; use service_account or metadata")
        }
    }

    /// Gets a token with the `cloud-platform` scope.
    /// - Throws: `.denied` when refused, `.unreachable` when the endpoint cannot be
    ///   reached or answers 429/5xx.
    func fetchToken(http: SecretHTTP) async throws(SecretError) -> OAuthToken {
        switch self {
        case .serviceAccount(let keyFile):
            let key = try GCPServiceAccountKey.load(path: keyFile)
            let assertion = try key.assertion(scope: Self.scope)
            let response = try await http.send(
                .POST, key.tokenURI,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: CloudText.form([
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion),
                ]))
            let source = "Google's token endpoint (\(SecretHTTP.host(of: key.tokenURI))) for \(key.clientEmail)"
            return try Self.token(from: response, source: source, hiding: [assertion])
        case .metadata(let metadata):
            let url = "\(metadata.baseURL)/computeMetadata/v1/instance/service-accounts/\(metadata.account)/token"
            let response = try await http.send(.GET, url, headers: [("Metadata-Flavor", "Google")])
            let source = "the metadata server (\(SecretHTTP.host(of: metadata.baseURL)))"
            return try Self.token(from: response, source: source, hiding: [])
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

    private static func token(
        from response: SecretHTTP.Response, source: String, hiding: [String]
    ) throws(SecretError) -> OAuthToken {
        guard (200..<300).contains(response.status) else {
            let body = try? JSONDecoder().decode(OAuthErrorResponse.self, from: Data(response.body))
            var reason = [body?.error, body?.errorDescription].compactMap { $0 }.joined(separator: ": ")
            if body == nil { reason = response.text }
            reason = CloudText.scrubbed(reason, hiding: hiding)
            let detail = "\(source) refused the token request with HTTP \(response.status)"
                + (reason.isEmpty ? "" : " (\(reason))")
            switch response.status {
            case 408, 429, 500...599: throw SecretError(.unreachable, detail)
            default: throw SecretError(.denied, detail)
            }
        }
        return try response.json(OAuthTokenResponse.self, what: source).token()
    }
}
