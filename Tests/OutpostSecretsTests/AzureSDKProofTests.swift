import Foundation
import OutpostTestSupport
import Testing

/// `FakeAzureKeyVault` driven by Microsoft's own Python SDKs (`azure-identity`,
/// `azure-keyvault-secrets`): every credential the agent implements, the challenge
/// flow with its resource check, reading, versions and paging. A fake the SDKs cannot
/// use is wrong, and then so would be the agent tests built on it.
@Suite("Azure Key Vault fake against the official SDKs")
struct AzureSDKProofTests {
    @Test(
        "azure-identity's credentials and SecretClient work against the fake over TLS, challenge check on",
        .enabled(if: OfficialSDK.available("azure.identity") && OfficialSDK.available("azure.keyvault.secrets")))
    func officialSDK() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-azure-sdk")
        defer { directory.remove() }
        let authority = try TestCertificateAuthority(name: "Outpost Azure SDK proof CA")
        let serverCredential = try authority.issue(
            commonName: "fakevault.vault.localhost", dnsNames: ["localhost", "fakevault.vault.localhost"],
            ipAddresses: ["127.0.0.1"])
        let caPath = try authority.writeCertificate(to: directory.url)

        let secretApp = "6731de76-14a6-49ae-97bc-6eba6914391e"
        let certificateApp = "0b7d4e6f-9a1b-4c3d-8e5f-6a7b3f1c2a8e"
        let workloadApp = "5b6c4d7e-8f90-41b2-a3c4-d5e6f0d3a1f4"
        let clientSecret = CloudTest.canary()
        // The first identity is the machine's system-assigned one (Service Fabric's, which has no choice).
        let fake = FakeAzureKeyVault(
            clients: [secretApp: clientSecret], managedIdentities: ["system-mi", "user-mi", "app-mi"], pageSize: 2)
        let certificate = try FakeAzureKeyVault.ClientCertificate()
        try fake.registerCertificate(certificate.certificatePEM, for: certificateApp)
        let certificatePath = directory.file("app.pem")
        try certificate.combinedPEM.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        let issuer = "https://oidc.prod-aks.azure.com/1f2e3d4c/"
        let subject = "system:serviceaccount:outpost:outpost-agent"
        fake.addFederatedCredential(clientID: workloadApp, issuer: issuer, subject: subject)
        let tokenFile = directory.file("azure-identity-token")
        try FakeAzureKeyVault.federatedToken(issuer: issuer, subject: subject)
            .write(toFile: tokenFile, atomically: true, encoding: .utf8)

        let value = CloudTest.canary()
        let first = fake.setSecret("db-password", "old-\(value)")
        fake.setSecret("db-password", value)
        for name in ["api-key", "cache-url", "queue-url"] { fake.setSecret(name, "v-\(name)") }
        let serverThumbprint = try serverCredential.sha1Thumbprint

        try await fake.run(tls: serverCredential) { base in
            let port = URLComponents(string: base)?.port ?? 0
            let config: [String: Any] = [
                "ca": caPath, "authority": "https://localhost:\(port)",
                "vault": "https://fakevault.vault.localhost:\(port)", "vault_by_address": base,
                "vault_scope": "https://vault.localhost:\(port)/.default",
                "tenant": fake.tenantID, "client_id": secretApp, "client_secret": clientSecret,
                "certificate_path": certificatePath, "certificate_client_id": certificateApp,
                "federated_token_file": tokenFile, "federated_client_id": workloadApp,
                "managed_identity_client_id": "user-mi", "imds_host": "https://localhost:\(port)",
                "app_service": [
                    "endpoint": FakeAzureKeyVault.appServiceEndpoint("https://localhost:\(port)"),
                    "header": fake.appServiceHeader, "client_id": "app-mi",
                ],
                "service_fabric": [
                    "endpoint": FakeAzureKeyVault.serviceFabricEndpoint("https://localhost:\(port)"),
                    "header": fake.serviceFabricHeader, "thumbprint": serverThumbprint,
                ],
                "read": ["db-password"], "version": ["db-password", first], "page_size": 2,
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            let outcome = try await OfficialSDK.run("azure_proof.py", arguments: [json])
            try #require(outcome.succeeded, "\(outcome)")
            let line = outcome.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(outcome)")
            for credential in ["client_secret", "workload_identity", "certificate", "managed_identity", "app_service", "service_fabric"] {
                #expect((result[credential] as? [String: String])?["db-password"] == value, "\(credential): \(outcome)")
            }
            #expect(result["version"] as? String == "old-\(value)")
            #expect(result["listed"] as? [String] == ["api-key", "cache-url", "db-password", "queue-url"])
            #expect(result["missing"] as? String == "SecretNotFound")
            #expect(result["challenge_mismatch"] as? String == "refused", "\(outcome)")
            #expect(result["challenge_unchecked"] as? String == value)
            #expect(result["msal_ps256"] as? Bool == true, "\(outcome)")
        }
        let grants = fake.grants
        let kinds = Set(grants.map(\.kind))
        #expect(kinds == [.clientSecret, .federatedToken, .clientCertificate, .imds, .appService, .serviceFabric])
        #expect(grants.filter { $0.kind == .imds }.map(\.principal) == ["user-mi"])
        #expect(grants.filter { $0.kind == .appService }.map(\.principal) == ["app-mi"])
        #expect(grants.filter { $0.kind == .serviceFabric }.map(\.principal) == ["system-mi"])
        // azure-identity signs certificate assertions with RS256 and x5t; MSAL given the public
        // certificate with PS256 and x5t#S256. The fake checked both.
        #expect(Set(grants.filter { $0.kind == .clientCertificate }.compactMap(\.algorithm)) == ["RS256", "PS256"])
        // The vault at NAME.vault.localhost:PORT announced its own audience; the one addressed by IP the public cloud's.
        #expect(grants.contains { $0.audience.hasPrefix("https://vault.localhost:") })
        #expect(grants.contains { $0.audience == FakeAzureKeyVault.publicResource })
    }

}
