import AsyncHTTPClient
import Foundation
import Logging
@testable import OutpostAgent
import OutpostSecrets
import OutpostTestSupport
import Testing

/// Helpers of the user-token verifier tests.
enum UserTokenTesting {
    /// The agent's kind of client: a refused connection fails at once.
    static let http: HTTPClient = SecretHTTP.makeClient()

    static let logger = Logger(label: "user-token-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A verifier of `url` that wants the fixtures' issuer and audience.
    static func verifier(
        _ url: String, fixtures: JWTFixtures, leeway: Duration = .seconds(30),
        minimumRefreshInterval: Duration = .seconds(30), maximumKeySetAge: Duration = .seconds(3600),
        fetchTimeout: Duration = .seconds(5), checkIssuerAndAudience: Bool = true
    ) -> UserTokenVerifier {
        let policy = UserTokenPolicy(
            jwkURL: url, issuer: checkIssuerAndAudience ? fixtures.issuer : nil,
            audience: checkIssuerAndAudience ? fixtures.audience : nil, leeway: leeway,
            minimumRefreshInterval: minimumRefreshInterval, maximumKeySetAge: maximumKeySetAge)
        return UserTokenVerifier(policy: policy, client: http, fetchTimeout: fetchTimeout, logger: logger)
    }

    /// The rejection of a verdict, or a recorded failure when it was accepted.
    static func rejection(
        _ verdict: UserTokenVerdict, sourceLocation: SourceLocation = #_sourceLocation
    ) -> UserTokenRejection? {
        guard case .rejected(let rejection) = verdict else {
            Issue.record("the token was accepted, expected a rejection", sourceLocation: sourceLocation)
            return nil
        }
        return rejection
    }

    /// Expects that `message` contains neither `token` nor any of its parts
    /// (a failure names the case, never the token).
    static func expectNoLeak(
        _ message: String, of token: String, case name: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: ".").map(String.init).filter { $0.count >= 8 }
        let leaked = (trimmed.count >= 8 && message.contains(trimmed)) || parts.contains { message.contains($0) }
        #expect(!leaked, "the rejection message of case \"\(name)\" contains the token or a part of it",
            sourceLocation: sourceLocation)
    }
}

/// Counts fetch attempts in front of the real HTTP fetcher (a dead endpoint counts no requests itself).
actor CountingFetcher: KeySetFetcher {
    let inner: HTTPKeySetFetcher
    private(set) var count = 0

    init(timeout: Duration = .seconds(2)) {
        inner = HTTPKeySetFetcher(client: UserTokenTesting.http, timeout: timeout, retryDelay: .milliseconds(10))
    }

    func fetchKeySet(from url: String) async throws(KeySetFetchError) -> [UInt8] {
        count += 1
        return try await inner.fetchKeySet(from: url)
    }
}

extension Trait where Self == ConditionTrait {
    /// Skips the suite, saying why, only when no Python with `cryptography` can
    /// be had; with `OUTPOST_REQUIRE_MOTO=1` (CI: moto needs the same package)
    /// it runs, and fails, instead.
    static var jwtFixturesAvailable: Self {
        .enabled("no Python with the cryptography package to sign test tokens (see scripts/testing/jwt-fixtures.py)") {
            if ProcessInfo.processInfo.environment["OUTPOST_REQUIRE_MOTO"] == "1" { return true }
            return await JWTFixtures.isAvailable()
        }
    }
}

extension JWTFixtures {
    /// The token of case `name`; records an issue for a name the script does not make.
    subscript(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        guard let token = tokens[name] else {
            Issue.record("no JWT fixture named \"\(name)\"", sourceLocation: sourceLocation)
            return "missing.fixture.token"
        }
        return token
    }
}
