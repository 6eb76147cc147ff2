import Foundation
import NIOHTTP1

/// An `authorized_user` credentials file: a user's OAuth client and refresh token,
/// as `gcloud auth application-default login` writes it. A token is the refresh-token
/// grant (RFC 6749 §6) at `token_uri` (default https://oauth2.googleapis.com/token).
struct GCPAuthorizedUser: Sendable {
    var clientID: String
    var clientSecret: String
    var refreshToken: String
    var tokenURI: String

    static let defaultTokenURI = GCPServiceAccountKey.defaultTokenURI

    init(_ object: [String: Any], in origin: String) throws(SecretError) {
        clientID = try GCPCredentialFile.string(object, "client_id", in: origin)
        clientSecret = try GCPCredentialFile.string(object, "client_secret", in: origin)
        refreshToken = try GCPCredentialFile.string(object, "refresh_token", in: origin)
        tokenURI = try GCPCredentialFile.url(object, "token_uri", in: origin) ?? Self.defaultTokenURI
    }

    /// `POST token_uri` with `grant_type=refresh_token`, the client and the refresh token.
    /// Google sends no new refresh token for this grant; a rotated one is ignored.
    func fetchToken(http: SecretHTTP) async throws(SecretError) -> OAuthToken {
        let response = try await http.send(
            .POST, tokenURI,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: CloudText.form([
                ("grant_type", "refresh_token"), ("client_id", clientID), ("client_secret", clientSecret),
                ("refresh_token", refreshToken),
            ]))
        let source = "Google's token endpoint (\(SecretHTTP.host(of: tokenURI))) for the user's refresh token"
        return try GCPTokenAnswer.oauth(response, source: source, hiding: [clientSecret, refreshToken])
    }
}
