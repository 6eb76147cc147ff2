import Foundation
import OutpostSecrets
import OutpostTestSupport
import Testing

/// The `vault` provider as the agent runs it (`ProviderCatalog.make` →
/// `ManagedProvider`): cache, coalescing, retries, timeout, unreachable server, TLS.
@Suite("vault provider: cache, retries, timeouts")
struct VaultManagedTests {
    static let token = "hvs.managed-token"

    static func options(_ address: String, _ extra: [String: String] = [:]) -> [String: Any] {
        var values: [String: Any] = [
            "name": "vault", "type": "vault", "address": address, "auth": ["method": "token", "token": token],
        ]
        for (key, value) in extra { values[key] = value }
        return values
    }

    static func fake() async -> FakeVault {
        let fake = FakeVault()
        await fake.addToken(token)
        await fake.put("app/db", ["password": "p"])
        return fake
    }

    @Test("a fetched secret is served from the cache within cache_ttl")
    func cacheHit() async throws {
        let fake = await Self.fake()
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address))
            for _ in 0..<5 { _ = try await provider.fetch(path: "app/db") }
            #expect(await fake.count(.read) == 1)
        }
    }

    @Test("cache_ttl 0 disables the cache")
    func cacheDisabled() async throws {
        let fake = await Self.fake()
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["cache_ttl": "0"]))
            for _ in 0..<3 { _ = try await provider.fetch(path: "app/db") }
            #expect(await fake.count(.read) == 3)
        }
    }

    @Test("concurrent fetches of one secret share one request to Vault")
    func coalescing() async throws {
        let fake = await Self.fake()
        // Slow answers keep the first request open while the others arrive.
        await fake.setDelay(.milliseconds(400))
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["cache_ttl": "0"]))
            let results = try await withThrowingTaskGroup(of: [String: String].self) { group in
                for _ in 0..<10 { group.addTask { VaultTesting.keys(try await provider.fetch(path: "app/db")) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 10 && results.allSatisfy { $0 == ["password": "p"] })
            #expect(await fake.count(.read) == 1)
        }
    }

    @Test("500s are retried up to max_retries, then the provider is unreachable")
    func retriesOn500() async throws {
        let fake = await Self.fake()
        try await fake.run { address in
            await fake.failNext(2, status: 500)
            let patient = try VaultTesting.make(Self.options(address, ["max_retries": "2", "cache_ttl": "0"]))
            #expect(VaultTesting.keys(try await patient.fetch(path: "app/db")) == ["password": "p"])
            #expect(await fake.count(.read) == 3)

            await fake.failNext(5, status: 503)
            let impatient = try VaultTesting.make(Self.options(address, ["max_retries": "1", "cache_ttl": "0"]))
            let error = await VaultTesting.error { try await impatient.fetch(path: "app/db") }
            #expect(error?.code == .unreachable)
            #expect(error?.detail.contains("after 2 attempts") == true)
            #expect(error?.detail.contains("sealed") == true)
            #expect(await fake.count(.read) == 5)
        }
    }

    @Test("a 404 is not retried")
    func noRetryOn404() async throws {
        let fake = await Self.fake()
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["max_retries": "3"]))
            let error = await VaultTesting.error { try await provider.fetch(path: "app/missing") }
            #expect(error?.code == .notFound)
            #expect(await fake.count(.read) == 1)
        }
    }

    @Test("a closed port is unreachable within a second or two")
    func unreachable() async throws {
        let refusing = try RefusingPort()
        let provider = try VaultTesting.make(Self.options(refusing.url, ["max_retries": "0"]))
        let clock = ContinuousClock()
        let start = clock.now
        let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
        #expect(error?.code == .unreachable)
        #expect(error?.detail.contains("connection refused") == true)
        #expect(clock.now - start < .seconds(8))
        VaultTesting.expectClean(error, of: [Self.token])
        withExtendedLifetime(refusing) {}
    }

    @Test("a Vault slower than timeout fails as unreachable, once per attempt")
    func slowServer() async throws {
        let fake = await Self.fake()
        await fake.setDelay(.seconds(5))
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, ["timeout": "300ms", "max_retries": "1"]))
            let clock = ContinuousClock()
            let start = clock.now
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .unreachable)
            #expect(clock.now - start < .seconds(8))
        }
    }

    @Test("listing goes through the managed provider uncached")
    func listUncached() async throws {
        let fake = await Self.fake()
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address))
            #expect(try await provider.list(prefix: "app/") == ["app/db"])
            #expect(try await provider.list(prefix: "app/") == ["app/db"])
            #expect(await fake.count(.list) == 2)
        }
    }

    @Test("over real TLS: tls_ca_file holding the private CA reads the secret; another CA fails with a named error, never leaking the value")
    func privateCAOverTLS() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try TestCertificateAuthority(name: "Vault Private CA")
        let stranger = try TestCertificateAuthority(name: "Some Other CA")
        let trusted = try authority.writeCertificate(to: directory.url, name: "vault-ca.pem")
        let wrong = try stranger.writeCertificate(to: directory.url, name: "other-ca.pem")
        let canary = "vault-tls-canary-7f3a9c51"
        let fake = await Self.fake()
        await fake.put("app/tls", ["password": canary])
        try await fake.run(tls: try authority.issue()) { address in
            #expect(address.hasPrefix("https://"))
            let provider = try VaultTesting.make(Self.options(address, ["tls_ca_file": trusted]))
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/tls")) == ["password": canary])

            let refusing = try VaultTesting.make(Self.options(address, ["tls_ca_file": wrong, "max_retries": "0"]))
            let error = await VaultTesting.error { try await refusing.fetch(path: "app/tls") }
            #expect(error?.code == .unreachable)
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("TLS"), "\(message)")
            #expect(!message.contains(canary))
        }
    }

    @Test("tls_ca_file must be a PEM file for an https address, and is used for the connection")
    func customCA() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ca = try VaultTesting.file(VaultTesting.testCA, in: directory, name: "ca.pem")
        let junk = try VaultTesting.file("not a certificate", in: directory, name: "junk.pem")
        let missing = await VaultTesting.error {
            try VaultTesting.make(Self.options("https://127.0.0.1:1", ["tls_ca_file": directory.file("none.pem")]))
        }
        #expect(missing?.code == .invalidConfiguration)
        let notPEM = await VaultTesting.error {
            try VaultTesting.make(Self.options("https://127.0.0.1:1", ["tls_ca_file": junk]))
        }
        #expect(notPEM?.code == .invalidConfiguration)
        // A plain-HTTP server behind an https address: the TLS handshake fails fast.
        let fake = await Self.fake()
        try await fake.run { address in
            let https = address.replacingOccurrences(of: "http://", with: "https://")
            let provider = try VaultTesting.make(Self.options(https, ["tls_ca_file": ca, "max_retries": "0"]))
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .unreachable)
        }
    }
}
