import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

@Suite("Azure Key Vault: sovereign clouds and the vault's challenge")
struct AzureKeyVaultCloudTests {
    @Test("the token audience and the authority follow the vault's cloud")
    func sovereignClouds() throws {
        let cases: [(String, String, String?)] = [
            ("https://contoso.vault.azure.net", "https://vault.azure.net", "https://login.microsoftonline.com"),
            ("https://contoso.vault.azure.cn", "https://vault.azure.cn", "https://login.chinacloudapi.cn"),
            ("https://contoso.vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net", "https://login.microsoftonline.us"),
            ("https://contoso.vault.microsoftazure.de", "https://vault.microsoftazure.de", "https://login.microsoftonline.de"),
            ("https://contoso.privatelink.vaultcore.azure.net", "https://vault.azure.net", "https://login.microsoftonline.com"),
            ("https://contoso.vault.azurestack.contoso.local", "https://vault.azurestack.contoso.local", nil),
            ("http://127.0.0.1:8443", "https://vault.azure.net", "https://login.microsoftonline.com"),
            ("https://secrets.corp.example", "https://vault.azure.net", "https://login.microsoftonline.com"),
        ]
        for (vault, resource, authority) in cases {
            #expect(AzureCloud.resource(forVault: vault) == resource, "\(vault)")
            #expect(AzureCloud.authority(forVault: vault) == authority, "\(vault)")
        }
        #expect(AzureCloud.scope("https://vault.azure.cn/.default", fitsVault: "https://x.vault.azure.cn"))
        #expect(AzureCloud.scope("https://vault.azure.net/.default", fitsVault: "https://x.vault.azure.net:443"))
        #expect(!AzureCloud.scope("https://management.azure.com/.default", fitsVault: "https://x.vault.azure.net"))
        #expect(!AzureCloud.scope("https://vault.azure.net/.default", fitsVault: "https://vault.azure.net.evil.example"))
        #expect(!AzureCloud.scope("https://vault.azure.net/.default", fitsVault: "https://xvault.azure.net"))
        #expect(!AzureCloud.scope("https://vault.azure.net/.default", fitsVault: "https://127.0.0.1"))

        // With client credentials and no authority or AZURE_AUTHORITY_HOST, a China vault signs in at China's Entra ID.
        let options = CloudTest.options([
            "name": "azure", "type": "azure-key-vault", "vault_url": "https://contoso.vault.azure.cn",
            "auth": ["tenant_id": "t", "client_id": "c", "client_secret": "s"],
        ])
        let configuration = try AzureKeyVaultProvider.Configuration(options: options, environment: [:])
        guard case .clientSecret(let app, _) = configuration.credential else {
            Issue.record("expected client credentials")
            return
        }
        #expect(app.tokenURL == "https://login.chinacloudapi.cn/t/oauth2/v2.0/token")
        #expect(configuration.resource == "https://vault.azure.cn")
        let moved = try AzureKeyVaultProvider.Configuration(
            options: options, environment: ["AZURE_AUTHORITY_HOST": "login.partner.microsoftonline.cn"])
        guard case .clientSecret(let movedApp, _) = moved.credential else { return }
        #expect(movedApp.authority == "https://login.partner.microsoftonline.cn")
    }

    @Test("challenges parse as Key Vault and Azure Arc write them")
    func challenges() {
        let vault = AzureChallenge(
            #"Bearer authorization="https://login.microsoftonline.com/72f988bf", resource="https://vault.azure.net""#)
        #expect(vault?.scheme == "bearer")
        #expect(vault?.scope == "https://vault.azure.net/.default")
        #expect(vault?.authorization == "https://login.microsoftonline.com/72f988bf")
        let scoped = AzureChallenge(#"Bearer authorization_uri="https://login.x/t", scope="https://vault.azure.cn/.default""#)
        #expect(scoped?.scope == "https://vault.azure.cn/.default")
        let arc = AzureChallenge("Basic realm=/var/opt/azcmagent/tokens/0f4d.key")
        #expect(arc?.scheme == "basic")
        #expect(arc?.parameters["realm"] == "/var/opt/azcmagent/tokens/0f4d.key")
        #expect(AzureChallenge("")?.scheme == nil)
    }

    @Test("a vault of another cloud answers with a challenge naming its audience: the agent follows it when it fits the host")
    func challengeSwitchesAudience() async throws {
        // The vault is addressed as 127.0.0.1 (no test DNS in the agent's resolver), so its
        // audience is one whose host 127.0.0.1 ends with: https://0.0.1. The derived audience
        // for an IP is the public cloud's; the challenge corrects it.
        let fixture = AzureFixture(resource: "https://0.0.1")
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(try await provider.fetch(path: "db") == .text("value"))
        }
        #expect(fixture.fake.grants.map(\.audience) == ["https://vault.azure.net", "https://0.0.1"])
        #expect(fixture.fake.counts == .init(tokenRequests: 2, vaultRequests: 3))
    }

    @Test("a challenge for an audience that does not fit the vault's host is not followed; resource: overrides")
    func challengeRefused() async throws {
        let fixture = AzureFixture(resource: "https://vault.azure.cn")
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let provider = try CloudTest.provider(azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret))
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("asks for tokens for https://vault.azure.cn") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("set resource: https://vault.azure.cn") == true)
            #expect(!fixture.fake.grants.contains { $0.audience == "https://vault.azure.cn" }, "no token for it was asked for")

            let configured = try CloudTest.provider(
                azureOptions(base, fixture.fake, clientSecret: fixture.clientSecret, ["resource": "https://vault.azure.cn"]))
            #expect(try await configured.fetch(path: "db") == .text("value"))
        }
    }
}
