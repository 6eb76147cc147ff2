import Foundation

/// Serves one `/metrics` body to every scrape within `interval` of its computation,
/// and makes concurrent scrapes of a stale body wait for one shared computation.
///
/// Why: each computation walks the dispatcher and lists the store's agents; 200
/// scrapers each doing that slowed the whole API down (issue 11). Time comes from the
/// hub's injected clock, so tests move it instead of sleeping.
actor MetricsSnapshotCache {
    private var latest: (computedAt: Date, body: [UInt8])?
    private var inFlight: Task<[UInt8], any Error>?
    /// How many times a body was computed, and how many scrapes joined one already
    /// running (tests check sharing with them).
    private(set) var computations = 0
    private(set) var joined = 0

    /// The cached body when it is fresh at `now`, else a new one from `compute`.
    /// A computation already running is joined rather than repeated.
    func body(
        now: Date, interval: TimeInterval, compute: @escaping @Sendable () async throws -> [UInt8]
    ) async throws -> [UInt8] {
        if let latest, now >= latest.computedAt, now.timeIntervalSince(latest.computedAt) < interval {
            return latest.body
        }
        if let inFlight {
            joined += 1
            return try await inFlight.value
        }
        // An unstructured task so that a scraper who gives up does not cancel the
        // computation the others wait on; every caller awaits it, none outlives it by more.
        let task = Task { try await compute() }
        inFlight = task
        computations += 1
        defer { inFlight = nil }
        let body = try await task.value
        latest = (now, body)
        return body
    }
}
