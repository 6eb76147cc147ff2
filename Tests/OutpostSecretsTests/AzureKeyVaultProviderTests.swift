import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

/// Options of a provider that signs in with client credentials against `fake` at `base`.
func azureOptions(
    _ base: String, _ fake: FakeAzureKeyVault, clientSecret: String, _ extra: [String: Any] = [:]
) -> [String: Any] {
    var values: [String: Any] = [
        "name": "azure", "type": "azure-key-vault", "vault_url": base, "max_retries": "0", "cache_ttl": "0",
        "auth": [
            "method": "client_credentials", "tenant_id": fake.tenantID, "client_id": AzureFixture.clientID,
            "client_secret": clientSecret, "authority": FakeAzureKeyVault.authority(base),
        ],
    ]
    values.merge(extra) { $1 }
    return values
}

/// A vault with one registered application whose client secret is a canary.
struct AzureFixture {
    static let clientID = "6731de76-14a6-49ae-97bc-6eba6914391e"
    let clientSecret = CloudTest.canary()
    let fake: FakeAzureKeyVault

    init(pageSize: Int = 25, resource: String = FakeAzureKeyVault.publicResource) {
        fake = FakeAzureKeyVault(clients: [Self.clientID: clientSecret], pageSize: pageSize, resource: resource)
    }
}

@Suite("Azure Key Vault provider")
struct AzureKeyVaultProviderTests {
    @Test("gets the current version of a secret with client credentials, through the catalog")
    func latestVersion() async throws {
        let fixture = AzureFixture()
        let value = CloudTest.canary()
        fixture.fake.setSecret("db-password", "old-\(value)")
        fixture.fake.setSecret("db-password", value)
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            #expect(provider.type == "azure-key-vault")
            #expect(try await provider.fetch(path: "db-password") == .text(value))
        }
        #expect(fixture.fake.counts == .init(tokenRequests: 1, vaultRequests: 1))
    }

    @Test("gets a given version by NAME/VERSION and NAME@VERSION")
    func givenVersion() async throws {
        let fixture = AzureFixture()
        let first = fixture.fake.setSecret("api-key", "{\"KEY\":\"one\"}")
        fixture.fake.setSecret("api-key", "{\"KEY\":\"two\"}")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            #expect(try await provider.fetch(path: "api-key/\(first)") == .text("{\"KEY\":\"one\"}"))
            #expect(try await provider.fetch(path: "api-key@\(first)") == .text("{\"KEY\":\"one\"}"))
            #expect(try await provider.fetch(path: "api-key") == .text("{\"KEY\":\"two\"}"))
        }
    }

    @Test("lists secret names across nextLink pages, filtered by prefix")
    func listWithPaging() async throws {
        let fixture = AzureFixture(pageSize: 2)
        for name in ["prod-db", "prod-api", "dev-db", "prod-cache", "dev-api"] { fixture.fake.setSecret(name, "v") }
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            #expect(try await provider.list(prefix: "") == ["dev-api", "dev-db", "prod-api", "prod-cache", "prod-db"])
            #expect(try await provider.list(prefix: "prod-") == ["prod-api", "prod-cache", "prod-db"])
        }
        // Two listings of three pages each, one token.
        #expect(fixture.fake.counts == .init(tokenRequests: 1, vaultRequests: 6))
    }

    @Test("a missing secret or version is notFound with Key Vault's own words")
    func notFound() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("present", "x")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            let missing = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "absent") }
            #expect(missing?.code == .notFound)
            #expect(missing?.message.contains("SecretNotFound") == true)
            #expect(missing?.message.contains("secret provider \"azure\" (azure-key-vault), path \"absent\"") == true)
            let version = await CloudTest.failure { () async throws(SecretError) in
                try await provider.fetch(path: "present/0123456789abcdef0123456789abcdef")
            }
            #expect(version?.code == .notFound)
        }
    }

    @Test("a wrong client secret is denied and the secret never shows in the error")
    func wrongClientSecret() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "x")
        let wrong = CloudTest.canary()
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: wrong))
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("invalid_client") == true)
            #expect(error?.message.contains("AADSTS7000215") == true)
            #expect(error?.message.contains("Trace ID") == false)
            #expect(error?.message.contains(wrong) == false)
            #expect(error?.message.contains(fixture.clientSecret) == false)
        }
    }

    @Test("a principal without secrets permissions is denied (403 Forbidden), for get and list")
    func forbidden() async throws {
        let fixture = AzureFixture()
        let value = CloudTest.canary()
        fixture.fake.setSecret("db", value)
        fixture.fake.deny(principal: AzureFixture.clientID)
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            let get = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(get?.code == .denied)
            #expect(get?.message.contains("Forbidden") == true)
            #expect(get?.message.contains(value) == false)
            let list = await CloudTest.failure { () async throws(SecretError) in try await provider.list(prefix: "") }
            #expect(list?.code == .denied)
        }
    }

    @Test("a disabled version is denied")
    func disabledVersion() async throws {
        let fixture = AzureFixture()
        let version = fixture.fake.setSecret("db", "x")
        fixture.fake.disable("db", version: version)
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("disabled secret") == true)
        }
    }

    @Test("a 503 is retried by the managed provider; persistent throttling ends as unreachable")
    func retryableFailures() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            fixture.fake.inject(status: 503, on: .vault)
            let retrying = try CloudTest.provider(
                azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret, ["max_retries": "1"]))
            #expect(try await retrying.fetch(path: "db") == .text("value"))

            fixture.fake.inject(status: 429, on: .vault, count: 10)
            let once = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            let error = await CloudTest.failure { () async throws(SecretError) in try await once.fetch(path: "db") }
            #expect(error?.code == .unreachable)
            #expect(error?.message.contains("Throttled") == true)
        }
    }

    @Test("a closed port is unreachable within seconds")
    func closedPort() async throws {
        let fake = FakeAzureKeyVault(clients: [AzureFixture.clientID: "s3cret-value"])
        let base = try await fake.run { base in base }  // the server is gone after run: its port is closed
        let clock = ContinuousClock()
        let start = clock.now
        let provider = try CloudTest.provider(azureOptions(base, fake, clientSecret: "s3cret-value"))
        let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
        #expect(error?.code == .unreachable)
        #expect(clock.now - start < .seconds(8))
        #expect(error?.message.contains("s3cret-value") == false)
    }

    @Test("a vault slower than the timeout is unreachable, not a hang")
    func slowVault() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "x")
        fixture.fake.setDelay(.seconds(2))
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(
                azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret, ["timeout": "300ms"]))
            let clock = ContinuousClock()
            let start = clock.now
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .unreachable)
            #expect(clock.now - start < .seconds(8))
        }
    }

    @Test("a reply that is not Key Vault's JSON is malformed")
    func malformedReply() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "x")
        fixture.fake.inject(status: 200, on: .vault)
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .malformed)
        }
    }

    @Test(
        "paths: NAME, NAME/VERSION and NAME@VERSION; anything else is refused",
        arguments: [
            ("db", "db", nil), ("db-1/abc123", "db-1", "abc123"), ("db@abc123", "db", "abc123"),
            ("a/b/c", nil, nil), ("../etc", nil, nil), ("", nil, nil), ("db/", nil, nil), ("db_x", nil, nil),
            ("db@a/b", nil, nil), ("db?x=1", nil, nil),
        ] as [(String, String?, String?)])
    func paths(path: String, name: String?, version: String?) {
        let parsed = try? AzureKeyVaultProvider.parse(path)
        #expect(parsed?.name == name)
        #expect(parsed?.version == version)
    }

    @Test("token audiences follow the vault's cloud; paging links must stay on the vault's origin")
    func urls() {
        #expect(AzureKeyVaultProvider.Configuration.resource(forVault: "https://x.vault.azure.net") == "https://vault.azure.net")
        #expect(AzureKeyVaultProvider.Configuration.resource(forVault: "https://x.vault.azure.cn") == "https://vault.azure.cn")
        #expect(AzureKeyVaultProvider.Configuration.resource(forVault: "http://127.0.0.1:80") == "https://vault.azure.net")
        #expect(CloudText.sameOrigin("https://x.vault.azure.net:443/secrets?a=1", "https://x.vault.azure.net"))
        #expect(!CloudText.sameOrigin("https://evil.example/secrets", "https://x.vault.azure.net"))
        #expect(!CloudText.sameOrigin("http://x.vault.azure.net/secrets", "https://x.vault.azure.net"))
        #expect(
            AzureKeyVaultProvider.challengeAuthority(
                "Bearer authorization=\"https://login.microsoftonline.com/abc\", resource=\"https://vault.azure.net\"")
                == "https://login.microsoftonline.com/abc")
    }
}
