/// Holds one provider's access token between secret fetches and gets a new one
/// shortly before the old one expires, or when the store rejected it.
///
/// This is the auth-token cache every cloud provider needs; it is not a cache of
/// secrets (that is `ManagedProvider`'s).
actor OAuthTokenCache {
    typealias Fetch = @Sendable () async throws(SecretError) -> OAuthToken

    private let fetchToken: Fetch
    private let clock = ContinuousClock()
    private var current: (value: String, refreshAt: ContinuousClock.Instant)?

    init(fetch: @escaping Fetch) {
        fetchToken = fetch
    }

    /// The cached token while it has time left, else a fresh one.
    ///
    /// A token is renewed once half its lifetime, at most five minutes, remains:
    /// a request must not set off with a token that expires on the way.
    func token() async throws(SecretError) -> String {
        if let current, clock.now < current.refreshAt { return current.value }
        let received = clock.now
        let token = try await fetchToken()
        let margin = min(token.lifetime / 2, .seconds(300))
        current = (token.value, received + token.lifetime - margin)
        return token.value
    }

    /// Forgets `token` after the store answered 401 to it (revoked, or expired
    /// earlier than announced), unless a newer token has replaced it already.
    func reject(_ token: String) {
        if current?.value == token { current = nil }
    }
}
