import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

@Suite("Azure Key Vault: Retry-After and paging")
struct AzureKeyVaultResilienceTests {
    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    @Test("the vault's Retry-After, in seconds or as an HTTP date, is waited before the next retry")
    func retryAfterFromVault() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let clock = ContinuousClock()
            for form in ["seconds", "date"] {
                let retryAfter = form == "seconds" ? "1" : Self.httpDate(Date() + 2)
                fixture.fake.inject(status: 429, on: .vault, retryAfter: retryAfter)
                let provider = try CloudTest.provider(
                    azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret, ["max_retries": "1"]))
                let start = clock.now
                #expect(try await provider.fetch(path: "db") == .text("value"))
                // The backoff alone is 200 ms.
                #expect(clock.now - start >= .milliseconds(900), "Retry-After: \(retryAfter)")
            }
        }
    }

    @Test("a token endpoint's 503 with Retry-After is waited too")
    func retryAfterFromTokenEndpoint() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        fixture.fake.inject(status: 503, on: .token, retryAfter: "1")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(
                azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret, ["max_retries": "2"]))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(clock.now - start >= .milliseconds(900))
            #expect(fixture.fake.counts.tokenRequests == 2)
        }
    }

    @Test("a Retry-After longer than the agent waits fails at once, saying what the store asked")
    func retryAfterTooLong() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        fixture.fake.inject(status: 429, on: .vault, count: 5, retryAfter: "120")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(
                azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret, ["max_retries": "3"]))
            let clock = ContinuousClock()
            let start = clock.now
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(clock.now - start < .seconds(5))
            #expect(error?.code == .unreachable)
            #expect(error?.message.contains("asked to retry after 120 s") == true, "\(error?.message ?? "")")
            #expect(fixture.fake.counts.vaultRequests == 1)
        }
    }

    @Test("Retry-After: seconds, the three HTTP date forms, and nonsense")
    func parsing() {
        let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryAfter.parse("5", now: now) == .seconds(5))
        #expect(RetryAfter.parse(" 0 ", now: now) == .zero)
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:40 GMT", now: now) == .seconds(3))
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:47 GMT", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sun Nov  6 08:49:38 1994", now: now) == .seconds(1))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:40:00 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("soon", now: now) == nil)
        #expect(RetryAfter.parse("-3", now: now) == nil)
        #expect(RetryAfter.parse(nil, now: now) == nil)
        #expect(RetryAfter.parse("99999999999999", now: now).map { $0 > RetryAfter.longest } == true)
    }

    @Test("listing: each page's request is bounded on its own, not the whole listing")
    func slowPages() async throws {
        let fixture = AzureFixture(pageSize: 1)
        for index in 0..<6 { fixture.fake.setSecret("s-\(index)", "v") }
        fixture.fake.setDelay(.milliseconds(300))
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(
                azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret, ["timeout": "1s"]))
            #expect(try await provider.list(prefix: "s-") == (0..<6).map { "s-\($0)" })
        }
        #expect(fixture.fake.counts.vaultRequests == 6)
    }

    @Test("listing stops with a clear error after an absurd number of pages")
    func endlessPaging() async throws {
        let fixture = AzureFixture(pageSize: 1)
        fixture.fake.setSecret("only", "v")
        fixture.fake.setEndlessPaging(true)
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.list(prefix: "") }
            #expect(error?.code == .malformed)
            #expect(error?.message.contains("after \(AzureKeyVaultProvider.maxPages) pages") == true, "\(error?.message ?? "")")
        }
        #expect(fixture.fake.counts.vaultRequests == AzureKeyVaultProvider.maxPages)
    }

    @Test("listing does not follow a nextLink to another host (the token would go with it), nor one it has seen")
    func strangeNextLinks() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("a", "v")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            fixture.fake.setForeignNextLink("https://collector.example/secrets?api-version=7.4")
            let foreign = await CloudTest.failure { () async throws(SecretError) in try await provider.list(prefix: "") }
            #expect(foreign?.code == .malformed)
            #expect(foreign?.message.contains("points away from") == true, "\(foreign?.message ?? "")")

            fixture.fake.setForeignNextLink(base + "/secrets?api-version=7.4&maxresults=25")
            let loop = await CloudTest.failure { () async throws(SecretError) in try await provider.list(prefix: "") }
            #expect(loop?.code == .malformed)
            #expect(loop?.message.contains("repeats an earlier page") == true, "\(loop?.message ?? "")")
        }
    }
}
