import _CryptoExtras
import Foundation
import NIOHTTP1
import OutpostCore

/// A Google service-account JSON key file, and the signed JWT assertion that
/// trades it for an access token (OAuth 2.0 JWT bearer grant, RFC 7523).
struct GCPServiceAccountKey: Sendable {
    /// The account's email: the assertion's issuer.
    var clientEmail: String
    /// Id of the key pair, sent as the JWT header's `kid`.
    var privateKeyID: String?
    /// The project the account belongs to: the default `project`.
    var projectID: String?
    /// Where the assertion is posted (default https://oauth2.googleapis.com/token).
    var tokenURI: String
    /// The RSA key that signs the assertion.
    let privateKey: _RSA.Signing.PrivateKey
    /// The key file's `private_key` as written (masked in every task's log).
    let privatePEM: String?

    static let defaultTokenURI = "https://oauth2.googleapis.com/token"

    /// Reads and checks the key file at `path`.
    /// - Throws: `.invalidConfiguration` naming the file and the problem, never its contents.
    static func load(path: String) throws(SecretError) -> GCPServiceAccountKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretError(.invalidConfiguration, "key file \(path) cannot be read (missing or not readable by the agent)")
        }
        return try GCPServiceAccountKey(json: data, path: path)
    }

    init(json: Data, path: String) throws(SecretError) {
        struct File: Decodable {
            var type: String?
            var project_id: String?
            var private_key_id: String?
            var private_key: String?
            var client_email: String?
            var token_uri: String?
        }
        guard let file = try? JSONDecoder().decode(File.self, from: json) else {
            throw SecretError(.invalidConfiguration, "key file \(path) is not a JSON service-account key")
        }
        if let type = file.type, type != "service_account" {
            throw SecretError(
                .invalidConfiguration,
                "key file \(path) holds \"\(type)\" credentials; use a service-account key (type service_account), "
                    + "or auth method \(type) (or default) for this file")
        }
        guard let email = file.client_email, !email.isEmpty else {
            throw SecretError(.invalidConfiguration, "key file \(path) has no client_email")
        }
        guard let pem = file.private_key, let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) else {
            throw SecretError(.invalidConfiguration, "key file \(path): private_key is not a PEM RSA private key of 2048 bits or more")
        }
        let tokenURI = file.token_uri ?? Self.defaultTokenURI
        guard tokenURI.hasPrefix("https://") || tokenURI.hasPrefix("http://") else {
            throw SecretError(.invalidConfiguration, "key file \(path): token_uri is not an http(s) URL")
        }
        clientEmail = email
        privateKeyID = file.private_key_id
        projectID = file.project_id
        self.tokenURI = tokenURI
        privateKey = key
        privatePEM = pem
    }

    /// A token for `scope`: the signed assertion posted to `token_uri`
    /// (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`).
    func fetchToken(http: SecretHTTP, scope: String = GCPCredential.scope) async throws(SecretError) -> OAuthToken {
        let assertion = try assertion(scope: scope)
        let response = try await http.send(
            .POST, tokenURI,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: CloudText.form([
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion),
            ]))
        let source = "Google's token endpoint (\(SecretHTTP.host(of: tokenURI))) for \(clientEmail)"
        return try GCPTokenAnswer.oauth(response, source: source, hiding: [assertion])
    }

    /// A JWT (RS256) asserting this account for `scope`, valid for one hour from `now`.
    func assertion(scope: String, now: Date = Date()) throws(SecretError) -> String {
        let issuedAt = Int64(now.timeIntervalSince1970)
        var header: [String: String] = ["alg": "RS256", "typ": "JWT"]
        if let privateKeyID { header["kid"] = privateKeyID }
        struct Claims: Encodable {
            var iss: String
            var scope: String
            var aud: String
            var iat: Int64
            var exp: Int64
        }
        let claims = Claims(iss: clientEmail, scope: scope, aud: tokenURI, iat: issuedAt, exp: issuedAt + 3600)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let signingInput = Self.base64URL(try encoder.encode(header)) + "." + Self.base64URL(try encoder.encode(claims))
            let signature = try privateKey.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
            return signingInput + "." + Self.base64URL(signature.rawRepresentation)
        } catch {
            throw SecretError(.invalidConfiguration, "the service-account key could not sign the token request")
        }
    }

    /// Base64url without padding (RFC 7515 §2).
    static func base64URL(_ data: Data) -> String {
        Base64URL.encode([UInt8](data))
    }
}
