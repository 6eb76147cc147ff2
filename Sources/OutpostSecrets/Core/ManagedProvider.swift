package import Logging
package import OutpostCore

/// Wraps one provider with what every provider needs the same way: a TTL cache,
/// coalescing of concurrent fetches of one path, an overall timeout per attempt,
/// and retries with backoff on retryable failures only.
package actor ManagedProvider {
    /// The settings shared by every provider type (common options of `secrets.providers`).
    package struct Settings: Sendable, Equatable {
        /// How long a fetched secret is reused (`cache_ttl`, default 60 s; 0 disables the cache).
        package var cacheTTL: Duration = .seconds(60)
        /// Upper bound of one attempt (`timeout`, default 10 s).
        package var timeout: Duration = .seconds(10)
        /// Retries after a retryable failure (`max_retries`, default 3).
        package var maxRetries: Int = 3
        /// Backoff between retries.
        package var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(2))

        package init() {}

        /// Reads `cache_ttl`, `timeout` and `max_retries`.
        package init(options: ProviderOptions) throws(SecretError) {
            if let ttl = try options.duration("cache_ttl") { cacheTTL = ttl }
            if let timeout = try options.duration("timeout") {
                guard timeout > .zero else { throw options.invalid("timeout", "must be greater than zero") }
                self.timeout = timeout
            }
            if let retries = try options.int("max_retries", in: 0...20) { maxRetries = retries }
        }
    }

    package nonisolated let name: String
    package nonisolated let type: String
    package nonisolated let settings: Settings
    private let provider: any SecretProvider
    private let logger: Logger
    private let clock = ContinuousClock()
    private var cache: [String: (payload: SecretPayload, expires: ContinuousClock.Instant)] = [:]
    private var inFlight: [String: Task<SecretPayload, any Error>] = [:]

    package init(name: String, type: String, provider: any SecretProvider, settings: Settings, logger: Logger) {
        self.name = name
        self.type = type
        self.provider = provider
        self.settings = settings
        self.logger = logger
    }

    /// What the wrapped provider holds in memory (`SecretProvider.heldValues`), named
    /// `provider:path`; a JSON object's values one by one too, as a task would get them.
    package nonisolated var heldValues: [NamedSecretValue] {
        provider.heldValues.flatMap { held in
            let base = "\(name):\(held.name)"
            var values = [NamedSecretValue(name: base, value: held.value)]
            if let content = try? SecretContent(.text(held.value)), case .keyed = content.shape {
                values += content.namedValues.map { NamedSecretValue(name: "\(base)#\($0.key)", value: $0.value) }
            }
            return values
        }
    }

    /// The secret at `path`, from the cache when fresh; concurrent callers for one
    /// path share one fetch.
    package func fetch(path: String) async throws(SecretError) -> SecretPayload {
        if let hit = cache[path], hit.expires > clock.now { return hit.payload }
        let task: Task<SecretPayload, any Error>
        if let running = inFlight[path] {
            task = running
        } else {
            // The fetch must not die with the first caller that is cancelled: the others share it.
            task = Task { [provider, settings, logger, name, type] in
                try await Self.fetchWithRetries(
                    path: path, provider: provider, settings: settings, logger: logger, name: name, type: type)
            }
            inFlight[path] = task
        }
        let result = await task.result
        inFlight[path] = nil
        switch result {
        case .success(let payload):
            if settings.cacheTTL > .zero { cache[path] = (payload, clock.now + settings.cacheTTL) }
            return payload
        case .failure(let error as SecretError):
            throw error.with(provider: name, type: type, path: path)
        case .failure(let error):
            throw SecretError(.unreachable, "\(error)", provider: name, providerType: type, path: path)
        }
    }

    /// Secret names under `prefix`; never cached (browsing wants fresh names).
    ///
    /// Retried like a fetch. There is no deadline over the whole listing: a store with
    /// many names answers in many pages, and each page's request is bounded on its own
    /// (`timeout`, through `SecretHTTP`), so a large store lists as long as every page answers.
    package func list(prefix: String) async throws(SecretError) -> [String] {
        do {
            return try await Self.withRetries(
                settings: settings, logger: logger, what: "secret listing",
                metadata: ["provider": "\(name)", "type": "\(type)", "prefix": "\(prefix)"]
            ) { [provider] () async throws(SecretError) in
                try await provider.list(prefix: prefix)
            }
        } catch {
            throw error.with(provider: name, type: type, path: prefix.isEmpty ? nil : prefix)
        }
    }

    private static func fetchWithRetries(
        path: String, provider: any SecretProvider, settings: Settings, logger: Logger, name: String, type: String
    ) async throws(SecretError) -> SecretPayload {
        try await withRetries(
            settings: settings, logger: logger, what: "secret fetch",
            metadata: ["provider": "\(name)", "type": "\(type)", "path": "\(path)"]
        ) { () async throws(SecretError) in
            try await withTimeout(settings.timeout) { () async throws(SecretError) in
                try await provider.fetch(path: path)
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails with a non-retryable error, or
    /// `maxRetries` retries (with backoff) have failed too.
    private static func withRetries<T: Sendable>(
        settings: Settings, logger: Logger, what: String, metadata: Logger.Metadata,
        _ attempt: @Sendable () async throws(SecretError) -> T
    ) async throws(SecretError) -> T {
        var attempts = 0
        while true {
            do {
                return try await attempt()
            } catch {
                attempts += 1
                guard error.isRetryable, attempts <= settings.maxRetries, !Task.isCancelled else {
                    if error.isRetryable, attempts > 1 {
                        throw SecretError(error.code, "\(error.detail) (after \(attempts) attempts)")
                    }
                    throw error
                }
                // The store's own `Retry-After` (429, 503) when it asks for longer than the
                // backoff; past `RetryAfter.longest` the agent does not wait: it fails now.
                var delay = settings.backoff.delay(attempt: attempts)
                if let asked = error.retryAfter {
                    guard asked <= RetryAfter.longest else {
                        throw SecretError(
                            error.code,
                            "\(error.detail) (the store asked to retry after \(RetryAfter.text(asked)), "
                                + "longer than the agent waits for a secret, \(RetryAfter.text(RetryAfter.longest)); not retried)")
                    }
                    delay = max(delay, asked)
                }
                var metadata = metadata
                metadata["attempt"] = "\(attempts)"
                metadata["reason"] = "\(error.detail)"
                if let asked = error.retryAfter { metadata["retry_after"] = "\(RetryAfter.text(asked))" }
                logger.warning("\(what) failed, retrying", metadata: metadata)
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Runs `body`, failing with `.unreachable` once `timeout` passes (the body is cancelled).
    static func withTimeout<T: Sendable>(
        _ timeout: Duration, _ body: @escaping @Sendable () async throws(SecretError) -> T
    ) async throws(SecretError) -> T {
        let outcome: Result<T, SecretError> = await withTaskGroup(of: Result<T, SecretError>?.self) { group in
            group.addTask {
                do throws(SecretError) { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(SecretError(.unreachable, "no answer within \(timeout)"))
            }
            while let next = await group.next() {
                if let next {
                    group.cancelAll()
                    return next
                }
            }
            return .failure(SecretError(.unreachable, "cancelled"))
        }
        return try outcome.get()
    }
}
