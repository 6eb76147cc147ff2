import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOHTTP1
import OutpostCore
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// A store whose listing answers in pages, each after `pageDelay`, and fails the first
/// `failures` listings with `failure`.
private final class PagedListing: SecretProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var failuresLeft: Int
    private let failure: SecretError
    private let pages: Int
    private let pageDelay: Duration
    private(set) var listings = 0

    init(pages: Int, pageDelay: Duration, failures: Int = 0, failure: SecretError = SecretError(.unreachable, "HTTP 503")) {
        self.pages = pages
        self.pageDelay = pageDelay
        self.failuresLeft = failures
        self.failure = failure
    }

    var listingCount: Int { lock.with { listings } }

    func fetch(path: String) async throws(SecretError) -> SecretPayload { throw SecretError(.notFound, path) }

    func list(prefix: String) async throws(SecretError) -> [String] {
        let fail: Bool = lock.with {
            listings += 1
            guard failuresLeft > 0 else { return false }
            failuresLeft -= 1
            return true
        }
        if fail { throw failure }
        var names: [String] = []
        for page in 0..<pages {
            try? await Task.sleep(for: pageDelay)
            names.append("\(prefix)secret-\(page)")
        }
        return names
    }
}

@Suite("Listing: retried like fetching, bounded per page")
struct ManagedProviderListingTests {
    private func wrap(_ provider: PagedListing, timeout: Duration, retries: Int = 3) -> ManagedProvider {
        var settings = ManagedProvider.Settings()
        settings.timeout = timeout
        settings.maxRetries = retries
        settings.backoff = Backoff(initial: .milliseconds(1), maximum: .milliseconds(5))
        return ManagedProvider(name: "paged", type: "memory", provider: provider, settings: settings, logger: Logger(label: "test"))
    }

    @Test("a retryable listing failure is retried; a denied one is not")
    func retried() async throws {
        let flaky = PagedListing(pages: 2, pageDelay: .zero, failures: 2)
        #expect(try await wrap(flaky, timeout: .seconds(5)).list(prefix: "app/") == ["app/secret-0", "app/secret-1"])
        #expect(flaky.listingCount == 3)

        let down = PagedListing(pages: 1, pageDelay: .zero, failures: 100)
        do {
            _ = try await wrap(down, timeout: .seconds(5), retries: 2).list(prefix: "")
            Issue.record("a store that keeps failing listed")
        } catch {
            #expect(error.code == .unreachable)
            #expect(error.message.contains("after 3 attempts"))
            #expect(error.provider == "paged")
        }
        #expect(down.listingCount == 3)

        let denied = PagedListing(pages: 1, pageDelay: .zero, failures: 100, failure: SecretError(.denied, "HTTP 403"))
        await #expect(throws: SecretError.self) { try await wrap(denied, timeout: .seconds(5)).list(prefix: "") }
        #expect(denied.listingCount == 1)
    }

    @Test("many pages may take longer than one request's timeout in all")
    func manyPages() async throws {
        // 8 pages of 100 ms against a 300 ms timeout: each page is in time, the whole is not.
        let slow = PagedListing(pages: 8, pageDelay: .milliseconds(100))
        let names = try await wrap(slow, timeout: .milliseconds(300)).list(prefix: "")
        #expect(names.count == 8)
        #expect(slow.listingCount == 1)
    }

    @Test("an answer over the size limit is a non-retryable error naming the limit, not the body")
    func oversized() async throws {
        let canary = "cnry-oversized-" + UUID().uuidString.prefix(8)
        let router = Router()
        router.get("/big") { _, _ in String(repeating: canary, count: 400) }
        try await withFakeServer(router) { baseURL in
            let client = SecretHTTP.makeClient()
            let http = SecretHTTP(client: client, timeout: .seconds(5))
            let outcome: Result<SecretHTTP.Response, SecretError>
            do throws(SecretError) {
                outcome = .success(try await http.send(.GET, baseURL + "/big", maxBodyBytes: 4 << 10))
            } catch {
                outcome = .failure(error)
            }
            try await client.shutdown()
            switch outcome {
            case .success: Issue.record("an oversized answer was read")
            case .failure(let error):
                #expect(error.code == .malformed)
                #expect(!error.isRetryable)
                #expect(error.message.contains("more than 4 KiB"))
                #expect(!error.message.contains(canary))
            }
        }
    }
}
