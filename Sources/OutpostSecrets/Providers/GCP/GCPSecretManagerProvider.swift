import Foundation
import NIOHTTP1

/// Google Cloud Secret Manager (`type: gcp-secret-manager`): accesses secret
/// versions through the REST API with a token from a service-account key or the
/// metadata server, and checks each payload's CRC32C.
///
/// Path syntax: `NAME` (version `latest`), `NAME@VERSION` (a number or an alias),
/// `projects/PROJECT/secrets/NAME` or `projects/PROJECT/secrets/NAME/versions/VERSION`.
/// A UTF-8 payload is `.text`, anything else `.binary`.
struct GCPSecretManagerProvider: SecretProvider {
    /// The provider's settings, read from its options.
    struct Configuration: Sendable {
        /// Secret Manager's base URL (`endpoint`, default https://secretmanager.googleapis.com).
        var endpoint: String
        /// The project of plain `NAME` paths (`project`, else `GOOGLE_CLOUD_PROJECT`,
        /// else the key file's `project_id`, else asked from the metadata server).
        var project: String?
        /// How tokens are obtained (`auth`).
        var credential: GCPCredential
    }

    static let defaultEndpoint = "https://secretmanager.googleapis.com"
    static let allowedKeys: Set<String> = ["project", "endpoint", "auth"]

    let configuration: Configuration
    private let http: SecretHTTP
    private let tokens: OAuthTokenCache
    private let discoveredProject = DiscoveredProject()

    init(name: String, options: ProviderOptions, context: ProviderContext) throws(SecretError) {
        try options.rejectUnknownKeys(allowed: Self.allowedKeys)
        let configuration = try Configuration(options: options, environment: context.environment)
        let http = SecretHTTP(client: context.http, timeout: context.requestTimeout)
        self.configuration = configuration
        self.http = http
        tokens = OAuthTokenCache { () async throws(SecretError) in
            try await configuration.credential.fetchToken(http: http)
        }
    }

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let reference = try Self.parse(path)
        let project: String
        if let explicit = reference.project { project = explicit } else { project = try await self.project() }
        let url = "\(configuration.endpoint)/v1/projects/\(project)/secrets/\(reference.secret)/versions/\(reference.version):access"
        let response = try await tokens.authorizedGET(url, with: http)
        guard (200..<300).contains(response.status) else { throw failure(response) }
        struct Access: Decodable {
            struct Payload: Decodable {
                var data: String?
                var dataCrc32c: CRC?
            }
            var payload: Payload?
        }
        let access = try response.json(Access.self, what: "Secret Manager")
        // An empty payload is sent as `payload: {}` (proto3 JSON omits empty bytes).
        guard let payload = access.payload else {
            throw SecretError(.malformed, "Secret Manager answered without a payload")
        }
        guard let bytes = Data(base64Encoded: payload.data ?? "").map(Array.init) else {
            throw SecretError(.malformed, "Secret Manager's payload is not valid base64")
        }
        if let expected = payload.dataCrc32c?.value, UInt64(CRC32C.checksum(bytes)) != expected {
            throw SecretError(.malformed, "payload checksum mismatch (CRC32C); the payload was corrupted on the way")
        }
        if let text = String(validating: bytes, as: UTF8.self) { return .text(text) }
        return .binary(bytes)
    }

    /// Ids of the project's secrets that start with `prefix`, following `nextPageToken`.
    func list(prefix: String) async throws(SecretError) -> [String] {
        struct Page: Decodable {
            struct Secret: Decodable { var name: String }
            var secrets: [Secret]?
            var nextPageToken: String?
        }
        let project = try await self.project()
        var names: [String] = []
        var pageToken: String?
        for _ in 0..<1000 {
            var url = "\(configuration.endpoint)/v1/projects/\(project)/secrets?pageSize=250"
            if let pageToken { url += "&pageToken=" + CloudText.percentEncoded(pageToken) }
            let response = try await tokens.authorizedGET(url, with: http)
            guard (200..<300).contains(response.status) else { throw failure(response) }
            let page = try response.json(Page.self, what: "Secret Manager")
            for secret in page.secrets ?? [] {
                // Names are projects/PROJECT-NUMBER/secrets/ID.
                if let id = secret.name.split(separator: "/").last.map(String.init), id.hasPrefix(prefix) {
                    names.append(id)
                }
            }
            guard let next = page.nextPageToken, !next.isEmpty else { return names.sorted() }
            pageToken = next
        }
        throw SecretError(.malformed, "Secret Manager kept sending nextPageToken after 1000 pages")
    }

    /// The configured project, else the metadata server's (asked once).
    private func project() async throws(SecretError) -> String {
        if let project = configuration.project { return project }
        if let known = await discoveredProject.value { return known }
        guard let project = try await configuration.credential.metadataProject(http: http) else {
            throw SecretError(.invalidConfiguration, "no project: set project, or use a key file with project_id")
        }
        await discoveredProject.set(project)
        return project
    }

    /// The error for a Google API answer `{"error": {"code", "message", "status"}}`.
    private func failure(_ response: SecretHTTP.Response) -> SecretError {
        struct Body: Decodable {
            struct Inner: Decodable {
                var message: String?
                var status: String?
            }
            var error: Inner?
        }
        let body = try? JSONDecoder().decode(Body.self, from: Data(response.body))
        let status = body?.error?.status ?? ""
        let message = CloudText.scrubbed(body?.error?.message ?? "", hiding: [])
        let detail = "Secret Manager answered HTTP \(response.status)" + (status.isEmpty ? "" : " \(status)")
            + (message.isEmpty ? "" : ": \(message)")
        switch (status, response.status) {
        // FAILED_PRECONDITION: the version is disabled or destroyed, so it cannot be read.
        case ("NOT_FOUND", _), ("FAILED_PRECONDITION", _), (_, 404): return SecretError(.notFound, detail)
        case ("PERMISSION_DENIED", _), ("UNAUTHENTICATED", _), (_, 401), (_, 403): return SecretError(.denied, detail)
        case ("RESOURCE_EXHAUSTED", _), ("UNAVAILABLE", _), ("DEADLINE_EXCEEDED", _), ("INTERNAL", _), (_, 408),
            (_, 429), (_, 500...599):
            return SecretError(.unreachable, detail)
        default: return SecretHTTP.error(status: response.status, detail: "Secret Manager \(status): \(message)")
        }
    }

    /// What a path names: an optional project, the secret id and the version.
    struct Reference: Equatable {
        var project: String?
        var secret: String
        var version: String
    }

    /// Splits a path (see the type's documentation).
    /// - Throws: `.notFound` for a path no Secret Manager secret can have.
    static func parse(_ path: String) throws(SecretError) -> Reference {
        let usage = "use NAME, NAME@VERSION, projects/PROJECT/secrets/NAME or projects/PROJECT/secrets/NAME/versions/VERSION"
        var reference: Reference
        if path.hasPrefix("projects/") {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            switch parts.count {
            case 4 where parts[2] == "secrets":
                reference = Reference(project: parts[1], secret: parts[3], version: "latest")
            case 6 where parts[2] == "secrets" && parts[4] == "versions":
                reference = Reference(project: parts[1], secret: parts[3], version: parts[5])
            default:
                throw SecretError(.notFound, "not a Secret Manager path; \(usage)")
            }
        } else {
            let parts = path.split(separator: "@", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(parts.count) else { throw SecretError(.notFound, "not a Secret Manager path; \(usage)") }
            reference = Reference(project: nil, secret: parts[0], version: parts.count == 2 ? parts[1] : "latest")
        }
        guard reference.secret.count <= 255, CloudText.isPlain(reference.secret, extra: "-_") else {
            throw SecretError(.notFound, "not a Secret Manager secret id (1-255 letters, digits, '-' and '_'); \(usage)")
        }
        guard reference.version.count <= 63, CloudText.isPlain(reference.version, extra: "-_") else {
            throw SecretError(.notFound, "not a Secret Manager version (a number, latest, or an alias); \(usage)")
        }
        if let project = reference.project, project.count > 100 || !CloudText.isPlain(project, extra: "-.:") {
            throw SecretError(.notFound, "not a Google Cloud project id or number; \(usage)")
        }
        return reference
    }

    /// `dataCrc32c`: an int64, which proto3 JSON writes as a decimal string (some
    /// encoders write a number).
    struct CRC: Decodable {
        var value: UInt64

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(UInt64.self) {
                value = number
            } else if let number = UInt64(try container.decode(String.self)) {
                value = number
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an int64")
            }
        }
    }
}

/// The project id the metadata server named, asked once per provider.
private actor DiscoveredProject {
    var value: String?

    func set(_ project: String) { value = project }
}

extension GCPSecretManagerProvider.Configuration {
    init(options: ProviderOptions, environment: [String: String]) throws(SecretError) {
        endpoint = try options.url("endpoint") ?? GCPSecretManagerProvider.defaultEndpoint
        let auth =
            try options.section("auth")
            ?? ProviderOptions(
                values: [:], overrides: options.overrides, context: "\(options.context).auth",
                environmentPrefix: options.environmentPrefix + "AUTH_", overridePrefix: options.overridePrefix + "auth_")
        let (credential, key) = try GCPCredential.make(auth: auth, environment: environment)
        self.credential = credential
        project = try options.string("project") ?? environment["GOOGLE_CLOUD_PROJECT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? key?.projectID
        if let project, !CloudText.isPlain(project, extra: "-.:") {
            throw options.invalid("project", "expected a Google Cloud project id or number, got \"\(project)\"")
        }
        if project == nil, case .serviceAccount = credential {
            throw options.invalid("project", "required: the key file names no project_id")
        }
    }
}
