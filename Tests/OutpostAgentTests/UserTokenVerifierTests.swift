import Foundation
@testable import OutpostAgent
import OutpostTestSupport
import Testing

/// The agent's user-token check against tokens and keys made by Python's
/// `cryptography` (scripts/testing/jwt-fixtures.py), with the key set served
/// by a real local HTTP endpoint.
@Suite("user-token verifier", .jwtFixturesAvailable)
struct UserTokenVerifierTests {
    typealias Reason = UserTokenRejection.Reason

    @Test("valid RS256 and ES256 tokens are accepted with their subject, and the key set is fetched once")
    func accepted() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            #expect(await server.requestCount() == 0, "the key set is fetched lazily, not at construction")
            for name in [
                "valid RS256", "valid ES256", "valid RS256, audience array", "valid RS256, no typ",
                "valid RS256, fractional dates", "expired within leeway", "not yet valid within leeway",
            ] {
                let verdict = await verifier.verify(fixtures[name], now: fixtures.now)
                #expect(verdict == .accepted(subject: fixtures.subject), "case \"\(name)\"")
            }
            let padded = " \n" + (fixtures["valid ES256"]) + "\n"
            #expect(await verifier.verify(padded, now: fixtures.now) == .accepted(subject: fixtures.subject))
            #expect(await server.requestCount() == 1)
        }
    }

    @Test("without a configured issuer and audience any iss and aud are accepted")
    func issuerAndAudienceOptional() async throws {
        let fixtures = try await JWTFixtures.shared()
        try await FakeJWKSServer(jwks: fixtures.jwks).run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures, checkIssuerAndAudience: false)
            for name in ["wrong iss", "wrong aud", "no aud"] {
                #expect(await verifier.verify(fixtures[name], now: fixtures.now)
                    == .accepted(subject: fixtures.subject), "case \"\(name)\"")
            }
        }
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var token: String
        var reason: Reason
        /// A part of the message that names what is wrong.
        var mentions: String
        /// Key set requests the verification may make (0: refused before any network call).
        var fetches = 1
        var testDescription: String { token }
    }

    static let refusals: [Refusal] = [
        Refusal(token: "expired", reason: .expired, mentions: "user token expired at 2026-11-18T"),
        Refusal(token: "not yet valid", reason: .notYetValid, mentions: "not valid before 2026-11-18T"),
        Refusal(token: "unknown kid", reason: .unknownKey, mentions: "key id \"k9\" is not in the key set at http://127.0.0.1:"),
        Refusal(token: "encryption key kid", reason: .unknownKey, mentions: "\"use\": \"enc\""),
        Refusal(token: "no kid", reason: .missingKeyID, mentions: "no key id", fetches: 0),
        Refusal(token: "empty kid", reason: .missingKeyID, mentions: "no key id", fetches: 0),
        Refusal(token: "alg none", reason: .unsupportedAlgorithm, mentions: "\"none\" is not accepted", fetches: 0),
        Refusal(token: "alg None with signature", reason: .unsupportedAlgorithm, mentions: "\"None\"", fetches: 0),
        Refusal(token: "HS256 with the RSA public key", reason: .unsupportedAlgorithm, mentions: "\"HS256\"", fetches: 0),
        Refusal(token: "HS256 with the oct key", reason: .unsupportedAlgorithm, mentions: "\"HS256\"", fetches: 0),
        Refusal(token: "RS512", reason: .unsupportedAlgorithm, mentions: "\"RS512\"", fetches: 0),
        Refusal(token: "Ed25519 kid", reason: .unsupportedAlgorithm, mentions: "\"EdDSA\"", fetches: 0),
        Refusal(token: "RS256 header with EC kid", reason: .unsupportedAlgorithm,
            mentions: "RS256 does not match key \"ec-1\", an EC P-256 key"),
        Refusal(token: "ES256 header with RSA kid", reason: .unsupportedAlgorithm,
            mentions: "ES256 does not match key \"rsa-1\", an RSA key"),
        Refusal(token: "RS256 with key announced for PS256", reason: .unsupportedAlgorithm, mentions: "announced for PS256"),
        Refusal(token: "wrong aud", reason: .wrongAudience, mentions: "[\"someone-else\"], which does not include \"outpost-agents\""),
        Refusal(token: "wrong aud array", reason: .wrongAudience, mentions: "[\"a\", \"b\"]"),
        Refusal(token: "no aud", reason: .wrongAudience, mentions: "no audience"),
        Refusal(token: "wrong iss", reason: .wrongIssuer, mentions: "\"https://evil.example.com\", not the expected \"https://idp.example.com\""),
        Refusal(token: "tampered payload", reason: .badSignature, mentions: "does not verify with key \"rsa-1\""),
        Refusal(token: "RS256 signed by another key", reason: .badSignature, mentions: "key \"rsa-1\""),
        Refusal(token: "embedded jwk and jku", reason: .badSignature, mentions: "key \"rsa-1\" (RS256)"),
        Refusal(token: "ES256 DER signature", reason: .badSignature, mentions: "key \"ec-1\" (ES256)"),
        Refusal(token: "no exp", reason: .malformed, mentions: "no \"exp\" claim"),
        Refusal(token: "exp as string", reason: .malformed, mentions: "\"exp\" claim is not a number", fetches: 0),
        Refusal(token: "no sub", reason: .malformed, mentions: "no \"sub\" claim"),
        Refusal(token: "header not JSON", reason: .malformed, mentions: "header is not a JSON object", fetches: 0),
        Refusal(token: "header with crit", reason: .malformed, mentions: "\"crit\"", fetches: 0),
    ]

    @Test("each bad token is refused with its reason, a message naming it, and never the token", arguments: refusals)
    func refused(_ refusal: Refusal) async throws {
        let fixtures = try await JWTFixtures.shared()
        let token = fixtures[refusal.token]
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            guard let rejection = UserTokenTesting.rejection(await verifier.verify(token, now: fixtures.now)) else { return }
            #expect(rejection.reason == refusal.reason)
            #expect(rejection.message.contains(refusal.mentions), "message: \(rejection.message)")
            UserTokenTesting.expectNoLeak(rejection.message, of: token, case: refusal.token)
            #expect(await server.requestCount() == refusal.fetches)
        }
    }

    static let garbage: [(String, String?)] = [
        ("nil", nil), ("empty", ""), ("blank", " \n\t"), ("one part", "abcdefghijkl"), ("two parts", "abcdefgh.ijklmnop"),
        ("four parts", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln.c2ln"), ("JWE", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"),
        ("not base64url", "eyJ!bGci.e30.c2ln"), ("padded", "eyJhbGciOiJSUzI1NiJ9=.e30.c2ln"),
        ("standard base64", "eyJhbGciOiJSUzI1NiJ9.e30+/w.c2ln"), ("empty parts", ".."),
        ("payload an array", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.WzFd.c2ln"),
        ("header a string", "InJzYSJ9.e30.c2ln"), ("non-ASCII", "ééé.ééé.ééé"),
        ("too long", "eyJhbGciOiJSUzI1NiJ9." + String(repeating: "A", count: 20_000) + ".c2ln"),
        ("alg a number", "eyJhbGciOjF9.e30.c2ln"), ("kid a number", "eyJhbGciOiJSUzI1NiIsImtpZCI6MX0.e30.c2ln"),
        ("exp true", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.eyJleHAiOnRydWV9.c2ln"),
        ("aud a number", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.eyJhdWQiOjF9.c2ln"),
    ]

    @Test("garbage is refused as missing or malformed, without a crash, a fetch or an echo", arguments: garbage)
    func garbageRefused(_ name: String, _ token: String?) async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            guard let rejection = UserTokenTesting.rejection(await verifier.verify(token, now: fixtures.now)) else { return }
            let blank = (token ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            #expect(rejection.reason == (blank ? .missing : .malformed), "message: \(rejection.message)")
            #expect(rejection.message.hasPrefix(blank ? "the task carries no user token" : "user token is malformed: "))
            if let token { UserTokenTesting.expectNoLeak(rejection.message, of: token, case: name) }
            #expect(await server.requestCount() == 0)
        }
    }

    @Test("an unknown kid causes exactly one refresh; another within 30 s of it causes none; after that a rotated key verifies")
    func unknownKeyRefresh() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            let start = fixtures.now
            #expect(await verifier.verify(fixtures["valid RS256"], now: start) == .accepted(subject: fixtures.subject))
            #expect(await server.requestCount() == 1)

            // The first fetch counts: the set is fresh, an unknown kid right after it fetches nothing.
            let early = await verifier.verify(fixtures["unknown kid"], now: start + 1)
            #expect(UserTokenTesting.rejection(early)?.reason == .unknownKey)
            #expect(await server.requestCount() == 1)

            let unknown = await verifier.verify(fixtures["unknown kid"], now: start + 31)
            #expect(UserTokenTesting.rejection(unknown)?.reason == .unknownKey)
            #expect(await server.requestCount() == 2, "one refresh for the unknown kid")

            let again = await verifier.verify(fixtures["unknown kid"], now: start + 32)
            #expect(UserTokenTesting.rejection(again)?.reason == .unknownKey)
            await server.serve(fixtures.rotatedJWKS)
            let rotatedEarly = await verifier.verify(fixtures["rotated kid"], now: start + 60)
            #expect(UserTokenTesting.rejection(rotatedEarly)?.reason == .unknownKey)
            #expect(await server.requestCount() == 2, "no refresh within 30 s of the last one")

            let rotated = await verifier.verify(fixtures["rotated kid"], now: start + 62)
            #expect(rotated == .accepted(subject: fixtures.subject))
            #expect(await server.requestCount() == 3)
            #expect(await verifier.verify(fixtures["valid ES256"], now: start + 63) == .accepted(subject: fixtures.subject))
            #expect(await server.requestCount() == 3)
        }
    }

    @Test("an unknown kid on first use is looked up in the one fetch and not refreshed again")
    func unknownKeyOnFirstUse() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures, minimumRefreshInterval: .zero)
            let verdict = await verifier.verify(fixtures["unknown kid"], now: fixtures.now)
            #expect(UserTokenTesting.rejection(verdict)?.reason == .unknownKey)
            #expect(await server.requestCount() == 1)
        }
    }

    @Test("concurrent verifications share one key set fetch")
    func concurrentShareFetch() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        await server.setDelay(.milliseconds(300))
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures)
            let token = fixtures["valid ES256"]
            let verdicts = await withTaskGroup(of: UserTokenVerdict.self) { group in
                for _ in 0..<20 { group.addTask { await verifier.verify(token, now: fixtures.now) } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(verdicts.count == 20)
            #expect(verdicts.allSatisfy { $0 == .accepted(subject: fixtures.subject) })
            #expect(await server.requestCount() == 1)
        }
    }

    @Test("a key removed from the key set stops verifying once the cached set is too old")
    func revokedKey() async throws {
        let fixtures = try await JWTFixtures.shared()
        let server = FakeJWKSServer(jwks: fixtures.jwks)
        try await server.run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures, maximumKeySetAge: .seconds(60))
            let token = fixtures["valid RS256"]
            #expect(await verifier.verify(token, now: fixtures.now) == .accepted(subject: fixtures.subject))
            await server.serve(fixtures.revokedJWKS)
            #expect(await verifier.verify(token, now: fixtures.now + 59) == .accepted(subject: fixtures.subject))
            let late = await verifier.verify(token, now: fixtures.now + 61)
            #expect(UserTokenTesting.rejection(late)?.reason == .unknownKey)
            #expect(await server.requestCount() == 2)
        }
    }

    @Test("the leeway is configurable: with none, a token expired 10 s ago is refused")
    func noLeeway() async throws {
        let fixtures = try await JWTFixtures.shared()
        try await FakeJWKSServer(jwks: fixtures.jwks).run { url in
            let verifier = UserTokenTesting.verifier(url, fixtures: fixtures, leeway: .zero)
            let expired = await verifier.verify(fixtures["expired within leeway"], now: fixtures.now)
            #expect(UserTokenTesting.rejection(expired)?.reason == .expired)
            let early = await verifier.verify(fixtures["not yet valid within leeway"], now: fixtures.now)
            #expect(UserTokenTesting.rejection(early)?.reason == .notYetValid)
        }
    }
}
