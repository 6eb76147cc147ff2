import Foundation
@testable import OutpostAgent
import OutpostTestSupport
import Testing

/// Key set endpoints that are down, slow, failing or wrong: tasks are refused
/// with `keySetUnavailable` naming the URL and the cause, quickly, and the
/// endpoint is not hammered.
@Suite("user-token key set failures", .jwtFixturesAvailable)
struct UserTokenKeySetTests {
    @Test("a key set endpoint that is down: refused as unavailable, naming URL and cause, and retried only after the interval")
    func endpointDown() async throws {
        let fixtures = try await JWTFixtures.shared()
        let refusing = try RefusingPort()
        let url = "\(refusing.url)/.well-known/jwks.json"
        let fetcher = CountingFetcher()
        let policy = UserTokenPolicy(jwkURL: url, issuer: fixtures.issuer, audience: fixtures.audience)
        let verifier = UserTokenVerifier(policy: policy, fetcher: fetcher, logger: UserTokenTesting.logger)
        let token = fixtures["valid RS256"]
        let clock = ContinuousClock()
        let started = clock.now
        let verdict = await verifier.verify(token, now: fixtures.now)
        #expect(clock.now - started < .seconds(5))
        let rejection = UserTokenTesting.rejection(verdict)
        #expect(rejection?.reason == .keySetUnavailable)
        #expect(rejection?.message.contains("the key set at \(url) could not be fetched") == true, "\(rejection?.message ?? "")")
        #expect(rejection?.message.contains("connection refused") == true, "\(rejection?.message ?? "")")
        UserTokenTesting.expectNoLeak(rejection?.message ?? "", of: token, case: "endpoint down")
        #expect(await fetcher.count == 1)

        let again = await verifier.verify(token, now: fixtures.now + 5)
        #expect(UserTokenTesting.rejection(again)?.reason == .keySetUnavailable)
        #expect(await fetcher.count == 1, "no new attempt within the refresh interval")
        _ = await verifier.verify(token, now: fixtures.now + 31)
        #expect(await fetcher.count == 2)
        withExtendedLifetime(refusing) {}
    }

    @Test("a failing endpoint (HTTP 503) is tried twice, then refused; once it recovers tokens verify")
    func endpointFailsThenRecovers() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        await server.answer(status: 503, body: #"{"error": "maintenance"}"#)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            let token = fixtures["valid RS256"]
            let failed = UserTokenTesting.rejection(await verifier.verify(token, now: fixtures.now))
            #expect(failed?.reason == .keySetUnavailable)
            #expect(failed?.message.hasSuffix("could not be fetched: HTTP 503") == true, "\(failed?.message ?? "")")
            #expect(await server.requestCount() == 2, "one retry of a 5xx answer")
            await server.serve(fixtures.jwks)
            _ = await verifier.verify(token, now: fixtures.now + 10)
            #expect(await server.requestCount() == 2)
            #expect(await verifier.verify(token, now: fixtures.now + 40) == .accepted(subject: fixtures.subject))
            #expect(await server.requestCount() == 3)
        }
    }

    @Test("a 404 is not retried")
    func notFoundNotRetried() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        await server.answer(status: 404, body: "{}")
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            let failed = UserTokenTesting.rejection(await verifier.verify(fixtures["valid ES256"], now: fixtures.now))
            #expect(failed?.message.hasSuffix("HTTP 404") == true)
            #expect(await server.requestCount() == 1)
        }
    }

    @Test("answers that are not a key set are refused as unavailable, saying what is wrong", arguments: [
        ("not json at all", "the answer is not a JSON object"),
        (#"["keys"]"#, "the answer is not a JSON object"),
        (#"{"kty": "RSA", "n": "AQAB", "e": "AQAB"}"#, "no \"keys\" array"),
        (#"{"keys": {"kid": "rsa-1"}}"#, "no \"keys\" array"),
    ])
    func malformedKeySet(_ body: String, _ cause: String) async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        await server.answer(status: 200, body: body)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            let failed = UserTokenTesting.rejection(await verifier.verify(fixtures["valid RS256"], now: fixtures.now))
            #expect(failed?.reason == .keySetUnavailable)
            #expect(failed?.message.contains(cause) == true, "\(failed?.message ?? "")")
        }
    }

    @Test("a key set whose keys are all unusable is a valid empty set: tokens are refused as unknown key")
    func onlyUnusableKeys() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: #"""
            {"keys": [{"kty": "RSA", "kid": "rsa-1", "n": "AQAB", "e": "AQAB"}, {"kty": "EC", "crv": "P-256", "kid": "ec-1",
             "x": "AAAA", "y": "AAAA"}, {"kid": "nothing"}, 42, "text"]}
            """#)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            let rsa = UserTokenTesting.rejection(await verifier.verify(fixtures["valid RS256"], now: fixtures.now))
            #expect(rsa?.reason == .unknownKey)
            #expect(rsa?.message.contains("at least 2048 bits") == true, "\(rsa?.message ?? "")")
            let ec = UserTokenTesting.rejection(await verifier.verify(fixtures["valid ES256"], now: fixtures.now))
            #expect(ec?.reason == .unknownKey)
            #expect(ec?.message.contains("not a point on P-256") == true, "\(ec?.message ?? "")")
        }
    }

    @Test("a refresh that fails keeps the cached keys but cannot confirm an unknown kid")
    func failedRefreshKeepsKeys() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            #expect(await verifier.verify(fixtures["valid RS256"], now: fixtures.now) == .accepted(subject: fixtures.subject))
            await server.answer(status: 500, body: "{}")
            let unknown = await verifier.verify(fixtures["unknown kid"], now: fixtures.now + 31)
            #expect(UserTokenTesting.rejection(unknown)?.reason == .keySetUnavailable)
            #expect(await verifier.verify(fixtures["valid ES256"], now: fixtures.now + 32) == .accepted(subject: fixtures.subject))
        }
    }

    @Test("a hanging endpoint is given up on within the bounded time")
    func hangingEndpoint() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        await server.setDelay(.seconds(20))
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures, fetchTimeout: .milliseconds(500))
            let clock = ContinuousClock()
            let started = clock.now
            let failed = UserTokenTesting.rejection(await verifier.verify(fixtures["valid RS256"], now: fixtures.now))
            #expect(clock.now - started < .seconds(4))
            #expect(failed?.reason == .keySetUnavailable)
            #expect(failed?.message.contains("no answer in time") == true, "\(failed?.message ?? "")")
        }
    }

    @Test("policy validation names the bad key", arguments: [
        (UserTokenPolicy(jwkURL: "ftp://idp.example.com/jwks"), "jwk_url"),
        (UserTokenPolicy(jwkURL: "not a url"), "jwk_url"),
        (UserTokenPolicy(jwkURL: "https:///jwks"), "jwk_url"),
        (UserTokenPolicy(jwkURL: "https://idp.example.com/jwks", issuer: ""), "jwt_issuer"),
        (UserTokenPolicy(jwkURL: "https://idp.example.com/jwks", audience: ""), "jwt_audience"),
        (UserTokenPolicy(jwkURL: "https://idp.example.com/jwks", leeway: .seconds(-1)), "jwt_leeway"),
    ])
    func policyValidation(_ policy: UserTokenPolicy, _ key: String) {
        #expect {
            try policy.validate()
        } throws: { error in
            (error as? AgentError)?.code == .invalidConfiguration && (error as? AgentError)?.message.hasPrefix(key) == true
        }
        #expect(throws: Never.self) { try UserTokenPolicy(jwkURL: "https://idp.example.com/jwks").validate() }
    }
}
