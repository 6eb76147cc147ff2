import NIOHTTP1

/// The bearer-token GET that the OAuth-based stores (Azure Key Vault, GCP
/// Secret Manager) share.
extension OAuthTokenCache {
    /// A GET with the cached bearer token; after a 401 (token revoked or expired
    /// early) it drops the token and tries once more with a new one.
    func authorizedGET(_ url: String, with http: SecretHTTP) async throws(SecretError) -> SecretHTTP.Response {
        var attempt = 0
        while true {
            attempt += 1
            let token = try await token()
            let response = try await http.send(
                .GET, url, headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")])
            guard response.status == 401, attempt == 1 else { return response }
            reject(token)
        }
    }
}
