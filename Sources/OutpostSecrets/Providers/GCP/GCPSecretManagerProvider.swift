import Foundation
import NIOHTTP1

/// Google Cloud Secret Manager (`type: gcp-secret-manager`): accesses secret
/// versions through the REST API with a token from any Google credentials file
/// (service-account key, authorized user, workload identity federation,
/// impersonation) or the metadata server, and checks each payload's CRC32C.
///
/// Path syntax: `NAME` (version `latest`), `NAME@VERSION` (a number or an alias),
/// `projects/PROJECT/secrets/NAME[/versions/VERSION]`, and for regional secrets
/// `projects/PROJECT/locations/LOCATION/secrets/NAME[/versions/VERSION]`; plain
/// names are in the `location` option's region when it is set.
/// A UTF-8 payload is `.text`, anything else `.binary`.
struct GCPSecretManagerProvider: SecretProvider {
    /// The provider's settings, read from its options.
    struct Configuration: Sendable {
        /// Secret Manager's base URL (`endpoint`, default https://secretmanager.googleapis.com).
        var endpoint: String
        /// The base URL of regional secrets, `{location}` standing for the location
        /// (`regional_endpoint`, else `endpoint` when that is set, else
        /// https://secretmanager.{location}.rep.googleapis.com).
        var regionalEndpoint: String
        /// The location of plain `NAME` paths and of listing (`location`); `nil`: global.
        var location: String?
        /// The project of plain `NAME` paths (`project`, else `GOOGLE_CLOUD_PROJECT`,
        /// else the credentials file's project, else asked from the metadata server).
        var project: String?
        /// How tokens are obtained (`auth`).
        var credential: GCPCredential
        /// What the credentials file held at start that every task's log masks.
        var heldCredentials: [NamedSecretValue] = []

        /// The base URL and resource prefix (`projects/P` or `projects/P/locations/L`) for `location`.
        func resource(project: String, location: String?) -> (base: String, parent: String) {
            guard let location else { return (endpoint, "projects/\(project)") }
            return (
                regionalEndpoint.replacingOccurrences(of: "{location}", with: location),
                "projects/\(project)/locations/\(location)"
            )
        }
    }

    static let defaultEndpoint = "https://secretmanager.googleapis.com"
    static let defaultRegionalEndpoint = "https://secretmanager.{location}.rep.googleapis.com"
    static let allowedKeys: Set<String> = ["project", "endpoint", "regional_endpoint", "location", "auth"]
    /// Listing stops with an error past this many pages (250 secrets each): a store
    /// that keeps sending `nextPageToken` must not keep the agent listing forever.
    static let maxListPages = 1000

    let configuration: Configuration
    private let http: SecretHTTP
    private let tokens: OAuthTokenCache
    private let discoveredProject = DiscoveredProject()

    init(name: String, options: ProviderOptions, context: ProviderContext) throws(SecretError) {
        try options.rejectUnknownKeys(allowed: Self.allowedKeys)
        let configuration = try Configuration(options: options, environment: context.environment)
        let http = SecretHTTP(client: context.http, timeout: context.requestTimeout)
        let environment = context.environment
        self.configuration = configuration
        self.http = http
        tokens = OAuthTokenCache { () async throws(SecretError) in
            try await configuration.credential.fetchToken(http: http, environment: environment)
        }
    }

    /// The secrets of the credentials file (private key, client secret, refresh token,
    /// the subject token as of start), masked in every task's log.
    var heldValues: [NamedSecretValue] { configuration.heldCredentials }

    func fetch(path: String) async throws(SecretError) -> SecretPayload {
        let reference = try Self.parse(path)
        let project: String
        if let explicit = reference.project { project = explicit } else { project = try await self.project() }
        let location: String?
        switch reference.location {
        case .configured: location = configuration.location
        case .global: location = nil
        case .regional(let named): location = named
        }
        let (base, parent) = configuration.resource(project: project, location: location)
        let url = "\(base)/v1/\(parent)/secrets/\(reference.secret)/versions/\(reference.version):access"
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

    /// Ids of the project's secrets (in `location`, when set) that start with `prefix`,
    /// following `nextPageToken`. Each page is its own request, bounded by the request
    /// timeout; there is no deadline over all pages, but at most `maxListPages` of them.
    func list(prefix: String) async throws(SecretError) -> [String] {
        struct Page: Decodable {
            struct Secret: Decodable { var name: String }
            var secrets: [Secret]?
            var nextPageToken: String?
        }
        let project = try await self.project()
        let (base, parent) = configuration.resource(project: project, location: configuration.location)
        var names: [String] = []
        var pageToken: String?
        for _ in 0..<Self.maxListPages {
            var url = "\(base)/v1/\(parent)/secrets?pageSize=250"
            if let pageToken { url += "&pageToken=" + CloudText.percentEncoded(pageToken) }
            let response = try await tokens.authorizedGET(url, with: http)
            guard (200..<300).contains(response.status) else { throw failure(response) }
            let page = try response.json(Page.self, what: "Secret Manager")
            for secret in page.secrets ?? [] {
                // Names are projects/PROJECT-NUMBER[/locations/LOCATION]/secrets/ID.
                if let id = secret.name.split(separator: "/").last.map(String.init), id.hasPrefix(prefix) {
                    names.append(id)
                }
            }
            guard let next = page.nextPageToken, !next.isEmpty else { return names.sorted() }
            guard next != pageToken else {
                throw SecretError(
                    .malformed, "Secret Manager answered a page's nextPageToken with the same token: the listing would never end")
            }
            pageToken = next
        }
        throw SecretError(
            .malformed,
            "listing stopped after \(Self.maxListPages) pages (\(Self.maxListPages * 250) secrets asked for): Secret Manager "
                + "was still sending nextPageToken; list with a prefix, or check the endpoint")
    }

    /// The configured project, else the metadata server's (asked once).
    private func project() async throws(SecretError) -> String {
        if let project = configuration.project { return project }
        if let known = await discoveredProject.value { return known }
        guard let project = try await configuration.credential.metadataProject(http: http) else {
            throw SecretError(.invalidConfiguration, "no project: set project, or use credentials that name one")
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
        let explicitEndpoint = try options.url("endpoint")
        endpoint = explicitEndpoint ?? GCPSecretManagerProvider.defaultEndpoint
        regionalEndpoint =
            try options.url("regional_endpoint") ?? explicitEndpoint ?? GCPSecretManagerProvider.defaultRegionalEndpoint
        location = try options.string("location")
        if let location, !GCPSecretManagerProvider.isLocation(location) {
            throw options.invalid("location", "expected a Google Cloud location such as us-east4, got \"\(location)\"")
        }
        let auth =
            try options.section("auth")
            ?? ProviderOptions(
                values: [:], overrides: options.overrides, context: "\(options.context).auth",
                environmentPrefix: options.environmentPrefix + "AUTH_", overridePrefix: options.overridePrefix + "auth_")
        let (credential, file) = try GCPCredential.make(auth: auth, environment: environment)
        self.credential = credential
        project = try options.string("project") ?? environment["GOOGLE_CLOUD_PROJECT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? file?.project
        if let project, !CloudText.isPlain(project, extra: "-.:") {
            throw options.invalid("project", "expected a Google Cloud project id or number, got \"\(project)\"")
        }
        if project == nil, let file {
            throw options.invalid(
                "project", "required: the \(file.type) credentials file names no project (nor does GOOGLE_CLOUD_PROJECT)")
        }
        if case .file(let source) = credential, let file {
            heldCredentials = file.heldCredentials().map { held in
                NamedSecretValue(name: "auth \(source.origin) \(source.path)#\(held.name)", value: held.value)
            }
        }
    }
}
