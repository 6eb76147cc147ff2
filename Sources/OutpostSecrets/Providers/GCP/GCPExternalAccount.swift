import Foundation
import NIOHTTP1

/// An `external_account` credentials file (workload identity federation), as
/// `gcloud iam workload-identity-pools create-cred-config` writes it:
///
/// 1. a subject token from `credential_source`: a file (a Kubernetes or CI OIDC token),
///    a URL (an identity endpoint), or AWS (a signed `GetCallerIdentity` request);
/// 2. traded at Google's STS (`token_url`, default https://sts.googleapis.com/v1/token)
///    with the token-exchange grant (RFC 8693) for a federated access token;
/// 3. optionally traded again for a service account's token
///    (`service_account_impersonation_url`, see `GCPImpersonation`).
struct GCPExternalAccount: Sendable {
    /// The workload (or workforce) pool provider: `//iam.googleapis.com/projects/NUMBER/
    /// locations/global/workloadIdentityPools/POOL/providers/PROVIDER`.
    var audience: String
    /// `urn:ietf:params:oauth:token-type:jwt`, `...:id_token`, `...:saml2`, or
    /// `urn:ietf:params:aws:token-type:aws4_request`.
    var subjectTokenType: String
    var tokenURL: String
    var impersonationURL: String?
    /// `service_account_impersonation.token_lifetime_seconds` (default 3600).
    var impersonationLifetime: Int
    var source: GCPSubjectTokenSource
    /// A workforce pool's billing project, sent as STS `options` `{"userProject": ...}`.
    var workforcePoolUserProject: String?
    /// OAuth client of the STS request (HTTP basic authentication), when the file has one.
    var clientID: String?
    var clientSecret: String?

    static let defaultTokenURL = "https://sts.googleapis.com/v1/token"
    static let grantType = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let requestedTokenType = "urn:ietf:params:oauth:token-type:access_token"

    init(_ object: [String: Any], in origin: String) throws(SecretError) {
        audience = try GCPCredentialFile.string(object, "audience", in: origin)
        subjectTokenType = try GCPCredentialFile.string(object, "subject_token_type", in: origin)
        tokenURL = try GCPCredentialFile.url(object, "token_url", in: origin) ?? Self.defaultTokenURL
        impersonationURL = try GCPCredentialFile.url(object, "service_account_impersonation_url", in: origin)
        if let impersonationURL, GCPImpersonation.targetPrincipal(impersonationURL) == nil {
            throw SecretError(
                .invalidConfiguration,
                "\(origin): service_account_impersonation_url must be .../serviceAccounts/EMAIL:generateAccessToken")
        }
        impersonationLifetime = GCPImpersonation.defaultLifetime
        if let options = object["service_account_impersonation"] as? [String: Any],
            let seconds = options["token_lifetime_seconds"]
        {
            guard let value = (seconds as? NSNumber)?.intValue, (600...43200).contains(value) else {
                throw SecretError(
                    .invalidConfiguration,
                    "\(origin): service_account_impersonation.token_lifetime_seconds must be 600 to 43200")
            }
            impersonationLifetime = value
        }
        guard let credentialSource = object["credential_source"] as? [String: Any] else {
            throw SecretError(.invalidConfiguration, "\(origin) has no credential_source object")
        }
        source = try GCPSubjectTokenSource(credentialSource, in: origin)
        if case .aws = source, subjectTokenType != GCPAWSSubjectToken.subjectTokenType {
            throw SecretError(
                .invalidConfiguration, "\(origin): an AWS credential_source needs subject_token_type \(GCPAWSSubjectToken.subjectTokenType)")
        }
        workforcePoolUserProject = (object["workforce_pool_user_project"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        if workforcePoolUserProject != nil, !Self.isWorkforcePool(audience) {
            throw SecretError(
                .invalidConfiguration, "\(origin): workforce_pool_user_project is only for a workforce pool's audience")
        }
        clientID = (object["client_id"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        clientSecret = (object["client_secret"] as? String).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `//iam.googleapis.com/locations/LOCATION/workforcePools/POOL/providers/PROVIDER`.
    static func isWorkforcePool(_ audience: String) -> Bool {
        audience.range(of: #"//iam\.googleapis\.com/locations/[^/]+/workforcePools/"#, options: .regularExpression) != nil
    }

    /// The project number in a workload pool's audience, else the workforce pool's user project.
    var project: String? {
        let parts = audience.split(separator: "/")
        if let index = parts.firstIndex(of: "projects"), index + 1 < parts.count,
            parts.dropFirst(index + 2).first == "locations", parts[index + 1].allSatisfy(\.isNumber)
        {
            return String(parts[index + 1])
        }
        return workforcePoolUserProject
    }

    func heldCredentials() -> [(name: String, value: String)] {
        var held: [(name: String, value: String)] = []
        if let clientSecret { held.append((name: "client_secret", value: clientSecret)) }
        if case .file(let path, _) = source,
            let text = try? CloudText.readCredentialFile(path, option: "credential_source.file")
        {
            held.append((name: "credential_source.file", value: text))
        }
        return held
    }

    /// Subject token → STS → (impersonation).
    func fetchToken(http: SecretHTTP, environment: [String: String]) async throws(SecretError) -> OAuthToken {
        let subjectToken = try await source.subjectToken(audience: audience, http: http, environment: environment)
        let federated = try await exchange(subjectToken, http: http)
        guard let impersonationURL else { return federated }
        return try await GCPImpersonation.generateAccessToken(
            url: impersonationURL, sourceToken: federated.value, delegates: [], lifetime: impersonationLifetime, http: http)
    }

    /// The token-exchange request to STS.
    func exchange(_ subjectToken: String, http: SecretHTTP) async throws(SecretError) -> OAuthToken {
        var fields: [(String, String)] = [
            ("grant_type", Self.grantType), ("audience", audience), ("scope", GCPCredential.scope),
            ("requested_token_type", Self.requestedTokenType), ("subject_token", subjectToken),
            ("subject_token_type", subjectTokenType),
        ]
        var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        if let clientID, let clientSecret {
            headers.append(("Authorization", "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()))
        } else if let workforcePoolUserProject {
            // As google-auth sends it: the JSON, percent-encoded, as the field's value.
            let options = (try? JSONSerialization.data(withJSONObject: ["userProject": workforcePoolUserProject]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            fields.append(("options", CloudText.percentEncoded(options)))
        }
        let response = try await http.send(.POST, tokenURL, headers: headers, body: CloudText.form(fields))
        let source = "Google's STS (\(SecretHTTP.host(of: tokenURL)))"
        return try GCPTokenAnswer.oauth(
            response, source: source, hiding: [subjectToken] + (clientSecret.map { [$0] } ?? []))
    }
}

/// Where an external account's subject token comes from (`credential_source`).
enum GCPSubjectTokenSource: Sendable {
    /// `{"file": PATH, "format": ...}`: read for every exchange (tokens rotate).
    case file(path: String, format: Format)
    /// `{"url": URL, "headers": {...}, "format": ...}`: a GET for every exchange.
    case url(url: String, headers: [(String, String)], format: Format)
    /// `{"environment_id": "aws1", ...}`.
    case aws(GCPAWSSubjectToken)

    /// `format.type`: the whole text, or one field of a JSON object.
    enum Format: Sendable, Equatable {
        case text
        case json(field: String)
    }

    init(_ source: [String: Any], in origin: String) throws(SecretError) {
        let origin = "\(origin), credential_source"
        if let environment = source["environment_id"] as? String {
            guard environment.hasPrefix("aws") else {
                throw SecretError(
                    .invalidConfiguration, "\(origin): environment_id \"\(environment)\" is not supported; use aws1")
            }
            self = .aws(try GCPAWSSubjectToken(source, environmentID: environment, in: origin))
            return
        }
        for unsupported in ["executable", "certificate"] where source[unsupported] != nil {
            throw SecretError(
                .invalidConfiguration,
                "\(origin): \(unsupported)-sourced credentials are not supported by this agent; use file, url or aws1")
        }
        let format = try Self.format(source["format"], in: origin)
        switch (source["file"], source["url"]) {
        case (let file as String, nil) where !file.isEmpty:
            self = .file(path: file, format: format)
        case (nil, let url as String):
            guard GCPCredentialFile.isHTTPURL(url) else {
                throw SecretError(.invalidConfiguration, "\(origin): url is not an http(s) URL")
            }
            var headers: [(String, String)] = []
            if let given = source["headers"] {
                guard let map = given as? [String: String] else {
                    throw SecretError(.invalidConfiguration, "\(origin): headers must map names to strings")
                }
                headers = map.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            self = .url(url: url, headers: headers, format: format)
        default:
            throw SecretError(.invalidConfiguration, "\(origin) needs exactly one of file, url or environment_id")
        }
    }

    private static func format(_ value: Any?, in origin: String) throws(SecretError) -> Format {
        guard let value else { return .text }
        guard let object = value as? [String: Any] else {
            throw SecretError(.invalidConfiguration, "\(origin): format is not an object")
        }
        switch object["type"] as? String ?? "text" {
        case "text": return .text
        case "json":
            guard let field = object["subject_token_field_name"] as? String, !field.isEmpty else {
                throw SecretError(.invalidConfiguration, "\(origin): format type json needs subject_token_field_name")
            }
            return .json(field: field)
        case let other:
            throw SecretError(.invalidConfiguration, "\(origin): format type \"\(other)\" is not text or json")
        }
    }

    /// The subject token to exchange.
    func subjectToken(audience: String, http: SecretHTTP, environment: [String: String]) async throws(SecretError) -> String {
        switch self {
        case .file(let path, let format):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SecretError(
                    .invalidConfiguration,
                    "the subject token file \(path) (credential_source.file) cannot be read (missing or not readable by the agent)")
            }
            return try Self.parse(Array(data), format: format, what: "the subject token file \(path)")
        case .url(let url, let headers, let format):
            let response = try await http.send(.GET, url, headers: headers, maxBodyBytes: 1 << 20)
            guard (200..<300).contains(response.status) else {
                throw GCPTokenAnswer.failure(
                    status: response.status, "the subject token URL (\(SecretHTTP.host(of: url))) refused the request",
                    reason: "", hiding: [])
            }
            return try Self.parse(response.body, format: format, what: "the subject token URL (\(SecretHTTP.host(of: url)))")
        case .aws(let aws):
            return try await aws.subjectToken(audience: audience, http: http, environment: environment)
        }
    }

    static func parse(_ bytes: [UInt8], format: Format, what: String) throws(SecretError) -> String {
        let token: String?
        switch format {
        case .text:
            token = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        case .json(let field):
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
            guard let object else {
                throw SecretError(.malformed, "\(what) is not a JSON object (format type json)")
            }
            token = object[field] as? String
            if token == nil {
                throw SecretError(.malformed, "\(what) has no string field \"\(field)\" (subject_token_field_name)")
            }
        }
        guard let token, !token.isEmpty else { throw SecretError(.malformed, "\(what) holds no subject token") }
        return token
    }
}
