import Foundation
import NIOHTTP1
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

@Suite("Azure Key Vault authentication")
struct AzureKeyVaultAuthTests {
    @Test("managed identity through IMDS: system-assigned, and a user-assigned client_id")
    func managedIdentity() async throws {
        let fake = FakeAzureKeyVault(managedIdentities: ["system-mi", "user-mi"])
        fake.setSecret("db", "value")
        try await fake.run { base in
            for clientID in [nil, "user-mi"] as [String?] {
                var auth: [String: Any] = ["method": "managed_identity", "endpoint": FakeAzureKeyVault.imdsEndpoint(base)]
                auth["client_id"] = clientID
                let provider = try CloudTest.provider(["name": "mi", "type": "azure-key-vault", "vault_url": base, "auth": auth])
                #expect(try await provider.fetch(path: "db") == .text("value"))
            }
            var auth: [String: Any] = ["method": "managed_identity", "endpoint": FakeAzureKeyVault.imdsEndpoint(base)]
            auth["client_id"] = "unknown-mi"
            let provider = try CloudTest.provider(
                ["name": "mi", "type": "azure-key-vault", "vault_url": base, "max_retries": "0", "auth": auth])
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("Identity not found") == true)
        }
    }

    @Test("the fake IMDS refuses a request without the Metadata header, as Azure does")
    func imdsRequiresMetadataHeader() async throws {
        let fake = FakeAzureKeyVault(managedIdentities: ["system-mi"])
        try await fake.run { base in
            let url = FakeAzureKeyVault.imdsEndpoint(base) + "?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
            let http = SecretHTTP(client: CloudTest.http, timeout: .seconds(5))
            let bare = try await http.send(.GET, url)
            #expect(bare.status == 400)
            #expect(bare.text.contains("Required metadata header not specified"))
            let proper = try await http.send(.GET, url, headers: [("Metadata", "true")])
            #expect(proper.status == 200)
        }
    }

    @Test("managed identity on App Service from IDENTITY_ENDPOINT and IDENTITY_HEADER")
    func appService() async throws {
        let fake = FakeAzureKeyVault(managedIdentities: ["app-mi"])
        fake.setSecret("db", "value")
        try await fake.run { base in
            let environment = [
                "IDENTITY_ENDPOINT": FakeAzureKeyVault.appServiceEndpoint(base), "IDENTITY_HEADER": fake.appServiceHeader,
            ]
            let provider = try CloudTest.provider(
                ["name": "app", "type": "azure-key-vault", "vault_url": base, "auth": ["method": "managed_identity"]],
                environment: environment)
            #expect(try await provider.fetch(path: "db") == .text("value"))

            let wrong = try CloudTest.provider(
                ["name": "app", "type": "azure-key-vault", "vault_url": base, "max_retries": "0"],
                environment: environment.merging(["IDENTITY_HEADER": "wrong-header-value"]) { $1 })
            let error = await CloudTest.failure { () async throws(SecretError) in try await wrong.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("wrong-header-value") == false)
        }
    }

    @Test("client credentials from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET without an auth section")
    func environmentCredentials() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(
                ["name": "env", "type": "azure-key-vault", "vault_url": base],
                environment: [
                    "AZURE_TENANT_ID": fixture.fake.tenantID, "AZURE_CLIENT_ID": AzureFixture.clientID,
                    "AZURE_CLIENT_SECRET": fixture.clientSecret, "AZURE_AUTHORITY_HOST": FakeAzureKeyVault.authority(base),
                ])
            #expect(try await provider.fetch(path: "db") == .text("value"))
        }
    }

    @Test("an unknown tenant is denied with Entra ID's error code")
    func unknownTenant() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            var options = azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret)
            var auth = options["auth"] as! [String: Any]
            auth["tenant_id"] = "contoso.onmicrosoft.com"
            options["auth"] = auth
            let provider = try CloudTest.provider(options)
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("AADSTS90002") == true)
            #expect(error?.message.contains(fixture.clientSecret) == false)
        }
    }

    @Test("client_secret_file is read for the token request")
    func clientSecretFile() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        let (path, directory) = try CloudTest.file(fixture.clientSecret + "\n")
        defer { directory.remove() }
        try await fixture.fake.run { base in
            var options = azureOptions(base, fixture.fake, clientSecret: "")
            var auth = options["auth"] as! [String: Any]
            auth["client_secret"] = nil
            auth["client_secret_file"] = path
            options["auth"] = auth
            let provider = try CloudTest.provider(options)
            #expect(try await provider.fetch(path: "db") == .text("value"))
        }
    }

    @Test("the token is reused while fresh, and fetched again when announced as expiring")
    func tokenCaching() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("a", "1")
        fixture.fake.setSecret("b", "2")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            _ = try await provider.fetch(path: "a")
            _ = try await provider.fetch(path: "b")
            #expect(fixture.fake.counts.tokenRequests == 1)

            fixture.fake.setTokenLifetime(seconds: 0)
            let expiring = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            _ = try await expiring.fetch(path: "a")
            _ = try await expiring.fetch(path: "b")
            #expect(fixture.fake.counts.tokenRequests == 3)
        }
    }

    @Test("a 401 for a revoked token gets one new token and the request succeeds")
    func refreshAfterUnauthorized() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            _ = try await provider.fetch(path: "db")
            fixture.fake.revokeTokens()
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(fixture.fake.counts == .init(tokenRequests: 2, vaultRequests: 3))
        }
    }

    @Test("an unreachable token endpoint is unreachable, quickly")
    func tokenEndpointDown() async throws {
        let fixture = AzureFixture()
        let closed = try await fixture.fake.run { base in base }
        try await fixture.fake.run { base in
            var options = azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret)
            var auth = options["auth"] as! [String: Any]
            auth["authority"] = FakeAzureKeyVault.authority(closed)
            options["auth"] = auth
            let provider = try CloudTest.provider(options)
            let clock = ContinuousClock()
            let start = clock.now
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .unreachable)
            #expect(clock.now - start < .seconds(8))
            #expect(error?.message.contains(fixture.clientSecret) == false)
        }
    }

    @Test(
        "configuration mistakes are named, never echoing a credential",
        arguments: [
            (#"{"auth": {"method": "client_credentials"}}"#, "vault_name"),
            (#"{"vault_name": "ok-vault", "vault_url": "https://x.vault.azure.net"}"#, "vault_url"),
            (#"{"vault_name": "1-bad"}"#, "vault_name"),
            (#"{"vault_url": "ftp://x"}"#, "vault_url"),
            (#"{"vault_name": "myvault", "colour": "blue"}"#, "colour"),
            (#"{"vault_name": "myvault", "auth": {"method": "password"}}"#, "auth.method"),
            (#"{"vault_name": "myvault", "auth": {"method": "managed_identity", "client_secret": "CANARY"}}"#, "auth.client_secret"),
            (#"{"vault_name": "myvault", "auth": {"method": "client_credentials", "client_id": "c", "client_secret": "CANARY"}}"#, "auth.tenant_id"),
            (#"{"vault_name": "myvault", "auth": {"method": "client_credentials", "tenant_id": "t", "client_secret": "CANARY"}}"#, "auth.client_id"),
            (#"{"vault_name": "myvault", "auth": {"method": "client_credentials", "tenant_id": "t", "client_id": "c"}}"#, "auth.client_secret"),
            (#"{"vault_name": "myvault", "auth": {"method": "client_credentials", "tenant_id": "t/../x", "client_id": "c", "client_secret": "CANARY"}}"#, "auth.tenant_id"),
            (#"{"vault_name": "myvault", "auth": {"method": "client_credentials", "tenant_id": "t", "client_id": "c", "client_secret_file": "/nonexistent/secret"}}"#, "auth.client_secret_file"),
            (#"{"vault_name": "myvault", "auth": {"tenant_id": "t", "client_id": "c"}}"#, "auth.tenant_id"),
            (#"{"vault_name": "myvault", "auth": {"method": "workload_identity", "tenant_id": "t", "client_id": "c"}}"#, "auth.token_file"),
            (#"{"vault_name": "myvault", "auth": {"method": "workload_identity", "tenant_id": "t", "client_id": "c", "token_file": "/nonexistent/token"}}"#, "auth.token_file"),
            (#"{"vault_name": "myvault", "auth": {"method": "client_certificate", "tenant_id": "t", "client_id": "c"}}"#, "auth.certificate_file"),
            (#"{"vault_name": "myvault", "auth": {"method": "client_certificate", "tenant_id": "t", "client_id": "c", "certificate_file": "/x", "client_secret": "CANARY"}}"#, "auth.client_secret"),
            (#"{"vault_name": "myvault", "auth": {"method": "managed_identity", "endpoint": "not-a-url"}}"#, "auth.endpoint"),
            (#"{"vault_name": "myvault", "auth": {"method": "managed_identity", "token_file": "/x"}}"#, "auth.token_file"),
        ])
    func configurationErrors(json: String, key: String) throws {
        var options = try CloudTest.json(json)
        options["name"] = "azure"
        options["type"] = "azure-key-vault"
        do {
            _ = try CloudTest.provider(options)
            Issue.record("expected an invalid configuration for \(key)")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("secrets.providers[azure].\(key)"))
            #expect(!error.message.contains("CANARY"))
        }
    }

    @Test("an option from the environment (OUTPOST_AGENT_SECRETS_<NAME>_AUTH_...) reaches the auth section")
    func environmentOverride() async throws {
        let fixture = AzureFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            var values = azureOptions(base, fixture.fake, clientSecret: "wrong")
            values["name"] = "azure"
            let options = CloudTest.options(values, overrides: ["auth_client_secret": fixture.clientSecret])
            let provider = try ProviderCatalog.make(options: options, context: CloudTest.context())
            #expect(try await provider.fetch(path: "db") == .text("value"))
        }
    }
}
