import Foundation

/// When the key set is fetched: on first use, again for an unknown `kid` or
/// once it is older than the maximum age, and never twice within the minimum
/// refresh interval (so a stream of tokens with made-up key ids cannot turn
/// the agent into a load generator against the identity provider).
///
/// Pure state: `UserTokenVerifier` does the fetching and reports back. Time
/// is the `now` of the verification, so tests drive it without a clock.
struct KeySetCache: Sendable {
    /// What to do for a key id.
    enum Lookup: Sendable {
        /// The usable keys with that id (one or more).
        case keys([JSONWebKey])
        /// Fetch the key set now, then ask `lookupAfterFetch`.
        case fetch
        /// The current key set has no usable key with that id, and refreshing is not allowed yet.
        case unknown
        /// There is no current key set: the last fetch failed (or none happened yet).
        case unavailable(KeySetFetchError)
    }

    /// Least seconds between two fetch attempts.
    let minimumRefreshInterval: TimeInterval
    /// Seconds after which a fetched key set is no longer used.
    let maximumAge: TimeInterval

    /// The last key set fetched and parsed.
    private(set) var keySet: JSONWebKeySet?
    private var fetchedAt: Date?
    private var lastAttempt: Date?
    /// Why the most recent attempt failed; `nil` once one succeeds.
    private var lastFailure: KeySetFetchError?

    init(minimumRefreshInterval: TimeInterval, maximumAge: TimeInterval) {
        self.minimumRefreshInterval = minimumRefreshInterval
        self.maximumAge = maximumAge
    }

    /// Before any fetch for this verification.
    func lookup(kid: String, now: Date) -> Lookup {
        resolve(kid: kid, now: now, mayFetch: mayFetch(now: now))
    }

    /// After the fetch `lookup` asked for: the answer, never another fetch.
    func lookupAfterFetch(kid: String, now: Date) -> Lookup {
        resolve(kid: kid, now: now, mayFetch: false)
    }

    mutating func fetchStarted(now: Date) {
        lastAttempt = now
    }

    mutating func fetchSucceeded(_ keySet: JSONWebKeySet, now: Date) {
        self.keySet = keySet
        fetchedAt = now
        lastFailure = nil
    }

    /// Keeps the previous key set: it stays usable until it is too old.
    mutating func fetchFailed(_ error: KeySetFetchError) {
        lastFailure = error
    }

    private func resolve(kid: String, now: Date, mayFetch: Bool) -> Lookup {
        let current = keySet.flatMap { set in isCurrent(now: now) ? set : nil }
        if let keys = current?.keys[kid] { return .keys(keys) }
        if mayFetch { return .fetch }
        // A failed refresh could not confirm the id is unknown: say the set is unavailable.
        if let lastFailure { return .unavailable(lastFailure) }
        if current != nil { return .unknown }
        return .unavailable(KeySetFetchError("it has not been fetched yet"))
    }

    private func isCurrent(now: Date) -> Bool {
        guard let fetchedAt else { return false }
        return now.timeIntervalSince(fetchedAt) < maximumAge
    }

    private func mayFetch(now: Date) -> Bool {
        guard let lastAttempt else { return true }
        // A clock that went backwards must not block refreshing until it catches up.
        return now.timeIntervalSince(lastAttempt) >= minimumRefreshInterval || now < lastAttempt
    }
}
