import Foundation
import Logging
import OutpostTestSupport
import Synchronization
import Testing

@testable import OutpostSecrets

/// Token leases with a clock the test moves: `auth/token/renew-self` two thirds into
/// a renewable token's lease, a new login when renewal fails or is not possible, and
/// a literal token kept when it can do neither.
@Suite("vault provider: token renewal (renew-self) with an injected clock")
struct VaultRenewalTests {
    /// A monotonic clock that moves only when told.
    final class TestClock: Sendable {
        private let base = ContinuousClock.now
        private let offset = Mutex<Duration>(.zero)

        var now: VaultSession.Now { { [self] in base + offset.withLock { $0 } } }

        func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
    }

    /// A provider without the managed layer (no cache, no retries), on `clock`.
    static func provider(
        _ address: String, auth: [String: Any], clock: TestClock, log: CapturedLog = CapturedLog()
    ) throws -> VaultProvider {
        let options = VaultTesting.options(["name": "vault", "type": "vault", "address": address, "auth": auth])
        let context = ProviderContext(http: VaultTesting.http, logger: log.logger, environment: [:])
        return try VaultProvider(name: "vault", options: options, context: context, now: clock.now)
    }

    static var appRole: [String: Any] { ["method": "approle", "role_id": "role-1", "secret_id": "sid-1"] }

    static func fake() async -> FakeVault {
        let fake = FakeVault()
        await fake.addAppRole("outpost", roleID: "role-1", secretID: "sid-1", tokenTTL: .seconds(3600))
        await fake.put("app/db", ["password": "p"])
        return fake
    }

    @Test("a renewable login token is renewed with renew-self two thirds into its lease, not replaced by a login")
    func renewsAtTwoThirds() async throws {
        let fake = await Self.fake()
        let clock = TestClock()
        let log = CapturedLog()
        try await fake.run { address in
            let provider = try Self.provider(address, auth: Self.appRole, clock: clock, log: log)
            _ = try await provider.fetch(path: "app/db")
            clock.advance(.seconds(2300))  // 2/3 of 3600 s is 2400 s
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.renew) == 0)
            clock.advance(.seconds(200))
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.renew) == 1)
            // The renewed lease is 3600 s again, counted from the renewal.
            clock.advance(.seconds(2300))
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.renew) == 1)
            clock.advance(.seconds(200))
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.renew) == 2)
            #expect(await fake.count(.login) == 1)
            #expect(await fake.rejectedTokenCount() == 0)
        }
        #expect(log.text.contains("renewed the Vault token"))
    }

    @Test("when renew-self is refused, the provider logs in again")
    func renewalRefusedLogsIn() async throws {
        let fake = await Self.fake()
        let clock = TestClock()
        try await fake.run { address in
            let provider = try Self.provider(address, auth: Self.appRole, clock: clock)
            _ = try await provider.fetch(path: "app/db")
            await fake.failNext(1, status: 403, kinds: [.renew])
            clock.advance(.seconds(2500))
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            #expect(await fake.count(.renew) == 1)
            #expect(await fake.count(.login) == 2)
        }
    }

    @Test("when Vault does not answer the renewal, the fetch fails as unreachable (retryable) and the next one renews")
    func renewalUnreachable() async throws {
        let fake = await Self.fake()
        let clock = TestClock()
        try await fake.run { address in
            let provider = try Self.provider(address, auth: Self.appRole, clock: clock)
            _ = try await provider.fetch(path: "app/db")
            await fake.failNext(1, status: 503, kinds: [.renew])
            clock.advance(.seconds(2500))
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .unreachable)
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.renew) == 2)
            #expect(await fake.count(.login) == 1)
        }
    }

    @Test("a non-renewable token with a lease is replaced by a new login two thirds into it")
    func nonRenewableLogsIn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fake = FakeVault()
        await fake.addToken("hvs.first", ttl: .seconds(600), renewable: false)
        await fake.addToken("hvs.second", ttl: .seconds(600), renewable: false)
        await fake.put("app/db", ["password": "p"])
        let file = try VaultTesting.file("hvs.first", in: directory)
        let clock = TestClock()
        try await fake.run { address in
            // A Vault Agent sink: the file is read again when the lease is two thirds over.
            let provider = try Self.provider(address, auth: ["method": "token", "token_file": file], clock: clock)
            _ = try await provider.fetch(path: "app/db")
            try "hvs.second".write(toFile: file, atomically: true, encoding: .utf8)
            clock.advance(.seconds(300))
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.other) == 1)  // one lookup-self so far
            clock.advance(.seconds(150))
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.other) == 2)
            #expect(await fake.count(.renew) == 0)
            // Revoking the first token shows which one the provider uses now.
            await fake.revokeToken("hvs.first")
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.rejectedTokenCount() == 0)
        }
    }

    @Test("a renewable literal token (VAULT_TOKEN) is renewed; once its max TTL caps the lease it is used as it is")
    func literalTokenRenewal() async throws {
        let fake = FakeVault()
        await fake.addToken("hvs.periodic", ttl: .seconds(3600), renewable: true, maxTTL: .seconds(4000))
        await fake.put("app/db", ["password": "p"])
        let clock = TestClock()
        try await fake.run { address in
            let provider = try Self.provider(address, auth: ["method": "token", "token": "hvs.periodic"], clock: clock)
            _ = try await provider.fetch(path: "app/db")
            clock.advance(.seconds(2500))
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.renew) == 1)
            // The renewal was cut to ~1500 s by the max TTL: no more renewals, no login (there is none).
            clock.advance(.seconds(1200))
            _ = try await provider.fetch(path: "app/db")
            clock.advance(.seconds(100))
            _ = try await provider.fetch(path: "app/db")
            #expect(await fake.count(.renew) == 1)
        }
    }

    @Test("renewal instants are two thirds into the lease; no lease, no renewal")
    func renewalInstant() {
        let now = ContinuousClock.now
        #expect(VaultSession.renewalInstant(leaseSeconds: 3600, now: now) == now + .seconds(2400))
        #expect(VaultSession.renewalInstant(leaseSeconds: 3, now: now) == now + .seconds(2))
        #expect(VaultSession.renewalInstant(leaseSeconds: 0, now: now) == nil)
    }
}
