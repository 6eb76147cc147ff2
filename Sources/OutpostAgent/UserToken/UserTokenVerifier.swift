package import AsyncHTTPClient
package import Foundation
package import Logging

/// Decides whether a task's user token lets it run on this agent: a JWS
/// signed with RS256 or ES256 by a key of the configured JWKS, chosen by
/// `kid`, unexpired, and from the configured issuer and audience.
///
/// The key set is fetched on first use and cached (see `KeySetCache` for
/// when it is fetched again). Concurrent verifications share one fetch.
/// Nothing here stores, logs or quotes a token.
package actor UserTokenVerifier {
    /// The only algorithms accepted. Everything else — `none`, HS256 (whose
    /// "secret" an attacker could take from the public key), PS*, EdDSA — is refused.
    static let algorithms: Set<String> = ["RS256", "ES256"]

    package nonisolated let policy: UserTokenPolicy
    private let fetcher: any KeySetFetcher
    private let logger: Logger
    private var cache: KeySetCache
    /// The fetch under way, which other verifications wait for instead of starting their own.
    private var refresh: Task<Void, Never>?

    /// - Parameters:
    ///   - policy: validated with `UserTokenPolicy.validate()` beforehand.
    ///   - fetcher: gets the key set document (`HTTPKeySetFetcher` outside tests).
    ///   - logger: key set fetches and their failures (URLs and key ids only).
    package init(policy: UserTokenPolicy, fetcher: any KeySetFetcher, logger: Logger) {
        self.policy = policy
        self.fetcher = fetcher
        self.logger = logger
        self.cache = KeySetCache(
            minimumRefreshInterval: policy.minimumRefreshInterval.timeInterval,
            maximumAge: policy.maximumKeySetAge.timeInterval)
    }

    /// A verifier that fetches the key set with `client` (see `HTTPKeySetFetcher`).
    package init(policy: UserTokenPolicy, client: HTTPClient, fetchTimeout: Duration = .seconds(5), logger: Logger) {
        self.init(policy: policy, fetcher: HTTPKeySetFetcher(client: client, timeout: fetchTimeout), logger: logger)
    }

    /// Checks `token` (compact JWS; `nil` when the task carries none) at `now`.
    ///
    /// Never throws and never hangs beyond the fetcher's bounded time; a token
    /// is refused before any network call when its form, algorithm or `kid`
    /// already rule it out.
    package func verify(_ token: String?, now: Date = Date()) async -> UserTokenVerdict {
        do {
            return .accepted(subject: try await check(token, now: now))
        } catch {
            return .rejected(error)
        }
    }

    private func check(_ text: String?, now: Date) async throws(UserTokenRejection) -> String {
        let token = try JSONWebToken(compact: text)
        let algorithm = token.header.alg
        guard Self.algorithms.contains(algorithm) else {
            throw UserTokenRejection(
                .unsupportedAlgorithm,
                "user token algorithm \(UserTokenText.quote(algorithm)) is not accepted: only RS256 and ES256 are")
        }
        guard let kid = token.header.kid, !kid.isEmpty else {
            throw UserTokenRejection(
                .missingKeyID, "user token has no key id (\"kid\") in its header, so no key can be chosen to verify it")
        }
        let candidates = try await keys(for: kid, now: now)
        guard let key = candidates.first(where: { $0.accepts(algorithm: algorithm) }) else {
            let key = candidates.first
            let announced = key?.alg.map { " announced for \($0)" } ?? ""
            throw UserTokenRejection(
                .unsupportedAlgorithm,
                "user token algorithm \(algorithm) does not match key \(UserTokenText.quote(kid)), "
                    + "\(key?.kindDescription ?? "a key")\(announced)")
        }
        guard key.isValidSignature(token.signature, for: token.signingInput) else {
            throw UserTokenRejection(
                .badSignature, "user token signature does not verify with key \(UserTokenText.quote(kid)) (\(algorithm))")
        }
        return try policy.checkClaims(token.claims, now: now)
    }

    /// The usable keys with `kid`, fetching the key set when the cache says so.
    private func keys(for kid: String, now: Date) async throws(UserTokenRejection) -> [JSONWebKey] {
        if let refresh { await refresh.value }
        var lookup = cache.lookup(kid: kid, now: now)
        if case .fetch = lookup {
            await refreshKeySet(now: now)
            lookup = cache.lookupAfterFetch(kid: kid, now: now)
        }
        switch lookup {
        case .keys(let keys):
            return keys
        case .unknown, .fetch:
            let skipped = cache.keySet?.skipped[kid].map { " (a key with that id is there but unusable: \($0))" } ?? ""
            throw UserTokenRejection(
                .unknownKey,
                "user token key id \(UserTokenText.quote(kid)) is not in the key set at \(policy.jwkURL)\(skipped)")
        case .unavailable(let error):
            throw UserTokenRejection(
                .keySetUnavailable,
                "user token cannot be verified: the key set at \(policy.jwkURL) could not be fetched: \(error.cause)")
        }
    }

    /// Fetches the key set once. The fetch runs in its own task so that
    /// verifications arriving meanwhile wait for it rather than fetch again;
    /// it ends within the fetcher's bounded time even if its caller is cancelled.
    private func refreshKeySet(now: Date) async {
        cache.fetchStarted(now: now)
        let task = Task { await self.fetchKeySet(now: now) }
        refresh = task
        await task.value
        if refresh == task { refresh = nil }
    }

    private func fetchKeySet(now: Date) async {
        do {
            let keySet = try JSONWebKeySet(json: try await fetcher.fetchKeySet(from: policy.jwkURL))
            cache.fetchSucceeded(keySet, now: now)
            logger.info(
                "fetched the user-token key set",
                metadata: [
                    "url": "\(policy.jwkURL)", "keys": "\(keySet.keys.keys.sorted().joined(separator: ","))",
                    "skipped": "\(keySet.skipped.keys.sorted().joined(separator: ","))",
                ])
        } catch {
            cache.fetchFailed(error)
            logger.warning(
                "cannot fetch the user-token key set", metadata: ["url": "\(policy.jwkURL)", "cause": "\(error.cause)"])
        }
    }
}
