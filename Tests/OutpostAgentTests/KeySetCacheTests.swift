import Foundation
@testable import OutpostAgent
import Testing

/// When the verifier fetches the key set, decided without any I/O.
@Suite("user-token key set cache")
struct KeySetCacheTests {
    /// A key set with one P-256 key, `ec-1`.
    static let keySet: JSONWebKeySet = {
        let document = #"""
            {"keys": [{"kty": "EC", "crv": "P-256", "kid": "ec-1",
              "x": "fBRyy2-kGrozDWc3NBVZ86duTpBln5S9yamuqaXvHhU", "y": "3s0XlOoczMbtU2eN-NmIPm9jUikYE1ewhMngmz1Chuo"}]}
            """#
        return try! JSONWebKeySet(json: Array(document.utf8))
    }()
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    func cache() -> KeySetCache {
        KeySetCache(minimumRefreshInterval: 30, maximumAge: 3600)
    }

    func kind(_ lookup: KeySetCache.Lookup) -> String {
        switch lookup {
        case .keys(let keys): "keys \(keys.map(\.kid))"
        case .fetch: "fetch"
        case .unknown: "unknown"
        case .unavailable(let error): "unavailable: \(error.cause)"
        }
    }

    @Test("the first use fetches; then known ids are served from the cache and unknown ones wait for the interval")
    func firstUseThenRateLimit() {
        var cache = cache()
        #expect(kind(cache.lookup(kid: "ec-1", now: Self.start)) == "fetch")
        cache.fetchStarted(now: Self.start)
        cache.fetchSucceeded(Self.keySet, now: Self.start)
        #expect(kind(cache.lookupAfterFetch(kid: "ec-1", now: Self.start)) == "keys [\"ec-1\"]")
        #expect(kind(cache.lookupAfterFetch(kid: "k9", now: Self.start)) == "unknown")
        #expect(kind(cache.lookup(kid: "k9", now: Self.start + 29)) == "unknown")
        #expect(kind(cache.lookup(kid: "k9", now: Self.start + 30)) == "fetch")
        #expect(kind(cache.lookup(kid: "ec-1", now: Self.start + 30)) == "keys [\"ec-1\"]")
    }

    @Test("a failed first fetch is reported with its cause and not retried within the interval")
    func failedFirstFetch() {
        var cache = cache()
        cache.fetchStarted(now: Self.start)
        cache.fetchFailed(KeySetFetchError("HTTP 502"))
        #expect(kind(cache.lookupAfterFetch(kid: "ec-1", now: Self.start)) == "unavailable: HTTP 502")
        #expect(kind(cache.lookup(kid: "ec-1", now: Self.start + 10)) == "unavailable: HTTP 502")
        #expect(kind(cache.lookup(kid: "ec-1", now: Self.start + 31)) == "fetch")
    }

    @Test("a set older than the maximum age is fetched again; if that fails even known ids are unavailable")
    func staleSet() {
        var cache = cache()
        cache.fetchStarted(now: Self.start)
        cache.fetchSucceeded(Self.keySet, now: Self.start)
        let late = Self.start + 3600
        #expect(kind(cache.lookup(kid: "ec-1", now: late)) == "fetch")
        cache.fetchStarted(now: late)
        cache.fetchFailed(KeySetFetchError("connection refused"))
        #expect(kind(cache.lookupAfterFetch(kid: "ec-1", now: late)) == "unavailable: connection refused")
    }

    @Test("a failed refresh of a current set keeps known ids and cannot confirm unknown ones")
    func failedRefreshOfCurrentSet() {
        var cache = cache()
        cache.fetchStarted(now: Self.start)
        cache.fetchSucceeded(Self.keySet, now: Self.start)
        cache.fetchStarted(now: Self.start + 40)
        cache.fetchFailed(KeySetFetchError("HTTP 500"))
        #expect(kind(cache.lookupAfterFetch(kid: "ec-1", now: Self.start + 40)) == "keys [\"ec-1\"]")
        #expect(kind(cache.lookupAfterFetch(kid: "k9", now: Self.start + 40)) == "unavailable: HTTP 500")
    }

    @Test("a clock that went backwards does not block refreshing")
    func clockBackwards() {
        var cache = cache()
        cache.fetchStarted(now: Self.start)
        cache.fetchSucceeded(Self.keySet, now: Self.start)
        #expect(kind(cache.lookup(kid: "k9", now: Self.start - 5)) == "fetch")
    }

    @Test("after a fetch no second fetch is ever asked for, whatever the interval")
    func neverTwice() {
        var cache = KeySetCache(minimumRefreshInterval: 0, maximumAge: 3600)
        cache.fetchStarted(now: Self.start)
        cache.fetchSucceeded(Self.keySet, now: Self.start)
        #expect(kind(cache.lookupAfterFetch(kid: "k9", now: Self.start)) == "unknown")
        #expect(kind(cache.lookup(kid: "k9", now: Self.start)) == "fetch")
    }
}
