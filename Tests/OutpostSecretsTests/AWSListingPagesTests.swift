import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// ListSecrets paging against a fake that answers slowly or never stops:
/// each page's request has its own bound, the listing as a whole has none,
/// and a listing that never ends stops with a clear error.
@Suite("AWS ListSecrets pages")
struct AWSListingPagesTests {
    /// A Secrets Manager that answers `ListSecrets` with `pages` pages of two names
    /// (`nil`: without end), each after `delay`; page `hangAt` takes `hang`.
    actor FakePages {
        let pages: Int?
        let delay: Duration
        let hangAt: Int?
        private(set) var requests = 0

        init(pages: Int?, delay: Duration = .zero, hangAt: Int? = nil) {
            self.pages = pages
            self.delay = delay
            self.hangAt = hangAt
        }

        func next(token: String?) -> (page: Int, last: Bool, hang: Bool) {
            requests += 1
            let page = token.flatMap { Int($0.dropFirst(5)) } ?? 0
            return (page, pages.map { page + 1 >= $0 } ?? false, page == hangAt)
        }

        nonisolated func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.post("/") { request, context -> Response in
                struct Body: Decodable { var NextToken: String? }
                let body = try await request.decode(as: Body.self, context: context)
                let (page, last, hang) = await self.next(token: body.NextToken)
                try await Task.sleep(for: hang ? .seconds(5) : self.delay)
                var answer: [String: Any] = ["SecretList": [["Name": "page\(page)/a"], ["Name": "page\(page)/b"]]]
                if !last { answer["NextToken"] = "token\(page + 1)" }
                let data = try JSONSerialization.data(withJSONObject: answer)
                return Response(
                    status: .ok, headers: [.contentType: "application/x-amz-json-1.1"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
            return router
        }
    }

    static func provider(_ url: String, timeout: String) throws(SecretError) -> ManagedProvider {
        try AWSTest.provider(
            [
                "name": "aws", "type": "aws-secrets-manager", "region": "us-east-1", "endpoint": url,
                "access_key_id": "AKIAFAKEFAKEFAKEFAKE", "secret_access_key": "fake", "max_retries": "0",
                "timeout": timeout,
            ], environment: ["HOME": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"])
    }

    @Test("pages that together take longer than the timeout list fine: each request is bounded on its own")
    func slowPages() async throws {
        // 5 pages of 0.6 s take 3 s, past the 2 s timeout; each alone has 1.4 s to spare
        // (0.7 s with 0.3 s pages and 1 s was not enough for CI's parallel secret suite).
        let fake = FakePages(pages: 5, delay: .milliseconds(600))
        try await withFakeServer(fake.router()) { url in
            let clock = ContinuousClock()
            let started = clock.now
            let names = try await Self.provider(url, timeout: "2s").list(prefix: "")
            #expect(clock.now - started > .seconds(2))
            #expect(names.count == 10)
            #expect(await fake.requests == 5)
        }
    }

    @Test("a page that does not answer within the timeout fails the listing, retryable")
    func hangingPage() async throws {
        let fake = FakePages(pages: 5, hangAt: 2)
        try await withFakeServer(fake.router()) { url in
            let error = try #require(await AWSTest.failure { try await Self.provider(url, timeout: "1s").list(prefix: "") })
            #expect(error.code == .unreachable)
            #expect(await fake.requests == 3)
        }
    }

    @Test("a store that always answers NextToken is stopped after 1000 pages with a clear error")
    func endlessPages() async throws {
        let fake = FakePages(pages: nil)
        try await withFakeServer(fake.router()) { url in
            let error = try #require(await AWSTest.failure { try await Self.provider(url, timeout: "5s").list(prefix: "") })
            #expect(error.code == .malformed)
            #expect(error.detail.contains("after 1000 pages"), "\(error.detail)")
            #expect(await fake.requests == 1000)
        }
    }
}
