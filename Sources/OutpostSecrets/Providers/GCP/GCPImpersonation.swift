import Foundation
import NIOHTTP1

/// Service-account impersonation: a token of one principal traded for a service
/// account's at the IAM Credentials API,
/// `POST https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`
/// with `{"scope": [...], "lifetime": "3600s", "delegates": [...]}`. The caller needs
/// `iam.serviceAccounts.getAccessToken` (*Service Account Token Creator*) on the
/// account, or on the first delegate, each delegate on the next.
enum GCPImpersonation {
    static let defaultLifetime = 3600

    /// The account an impersonation URL names (between the last `/` and
    /// `:generateAccessToken`), as google-auth reads it.
    static func targetPrincipal(_ url: String) -> String? {
        guard let end = url.range(of: ":generateAccessToken"), let slash = url[..<end.lowerBound].lastIndex(of: "/")
        else { return nil }
        let principal = String(url[url.index(after: slash)..<end.lowerBound])
        return principal.isEmpty ? nil : principal
    }

    /// A delegate as the API wants it: `projects/-/serviceAccounts/EMAIL` (a bare email is completed).
    static func delegateName(_ delegate: String) -> String {
        delegate.hasPrefix("projects/") ? delegate : "projects/-/serviceAccounts/\(delegate)"
    }

    /// A token of the account `url` names, asked for with `sourceToken`.
    static func generateAccessToken(
        url: String, sourceToken: String, delegates: [String], lifetime: Int, http: SecretHTTP
    ) async throws(SecretError) -> OAuthToken {
        struct Body: Encodable {
            var scope: [String]
            var lifetime: String
            var delegates: [String]?
        }
        let body = Body(
            scope: [GCPCredential.scope], lifetime: "\(lifetime)s",
            delegates: delegates.isEmpty ? nil : delegates.map(delegateName))
        let encoded = (try? JSONEncoder().encode(body)).map(Array.init) ?? []
        let response = try await http.send(
            .POST, url,
            headers: [
                ("Authorization", "Bearer \(sourceToken)"), ("Content-Type", "application/json"), ("Accept", "application/json"),
            ],
            body: encoded)
        let account = targetPrincipal(url) ?? "the service account"
        let source = "the IAM Credentials API (\(SecretHTTP.host(of: url))) impersonating \(account)"
        return try GCPTokenAnswer.impersonated(response, source: source, hiding: [sourceToken])
    }
}

/// An `impersonated_service_account` credentials file: `source_credentials` (a
/// service-account key, an authorized user or an external account), whose token is
/// traded for the token of the account `service_account_impersonation_url` names,
/// through the optional chain of `delegates`.
struct GCPImpersonatedAccount: Sendable {
    var source: GCPCredentialFile
    var url: String
    var delegates: [String]
    var lifetime: Int

    init(_ object: [String: Any], path: String) throws(SecretError) {
        let origin = "credentials file \(path)"
        guard let sourceObject = object["source_credentials"] as? [String: Any],
            let sourceData = try? JSONSerialization.data(withJSONObject: sourceObject)
        else {
            throw SecretError(.invalidConfiguration, "\(origin) has no source_credentials object")
        }
        source = try GCPCredentialFile.parse(sourceData, path: path, nested: true)
        guard let url = try GCPCredentialFile.url(object, "service_account_impersonation_url", in: origin),
            GCPImpersonation.targetPrincipal(url) != nil
        else {
            throw SecretError(
                .invalidConfiguration,
                "\(origin): service_account_impersonation_url must be .../serviceAccounts/EMAIL:generateAccessToken")
        }
        self.url = url
        if let list = object["delegates"], !(list is NSNull) {
            guard let names = list as? [String], names.allSatisfy({ !$0.isEmpty }) else {
                throw SecretError(.invalidConfiguration, "\(origin): delegates is not a list of service accounts")
            }
            delegates = names
        } else {
            delegates = []
        }
        lifetime = GCPImpersonation.defaultLifetime
    }

    func fetchToken(http: SecretHTTP, environment: [String: String]) async throws(SecretError) -> OAuthToken {
        let sourceToken = try await source.fetchToken(http: http, environment: environment)
        return try await GCPImpersonation.generateAccessToken(
            url: url, sourceToken: sourceToken.value, delegates: delegates, lifetime: lifetime, http: http)
    }
}
