import Foundation
@testable import OutpostSecrets
import OutpostTestSupport

/// A vault with an application for each credential kind, and the files they need.
struct AzureIdentityFixture {
    static let workloadApp = "5b6c4d7e-8f90-41b2-a3c4-d5e6f0d3a1f4"
    static let certificateApp = "0b7d4e6f-9a1b-4c3d-8e5f-6a7b3f1c2a8e"
    static let issuer = "https://oidc.prod-aks.azure.com/1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b/"
    static let subject = "system:serviceaccount:outpost:outpost-agent"

    let fake: FakeAzureKeyVault
    let directory: TemporaryDirectory
    let certificate: FakeAzureKeyVault.ClientCertificate
    /// The PEM file of `certificate` (certificate and key).
    let certificateFile: String
    /// The projected service account token (valid an hour).
    let tokenFile: String

    init(managedIdentities: [String] = [], arcKeyDirectory: String? = nil, resource: String = FakeAzureKeyVault.publicResource)
        throws
    {
        fake = FakeAzureKeyVault(managedIdentities: managedIdentities, arcKeyDirectory: arcKeyDirectory, resource: resource)
        directory = try TemporaryDirectory(prefix: "outpost-azure")
        certificate = try Self.sharedCertificate()
        try fake.registerCertificate(certificate.certificatePEM, for: Self.certificateApp)
        certificateFile = directory.file("app.pem")
        try certificate.combinedPEM.write(toFile: certificateFile, atomically: true, encoding: .utf8)
        fake.addFederatedCredential(clientID: Self.workloadApp, issuer: Self.issuer, subject: Self.subject)
        tokenFile = directory.file("azure-identity-token")
        try writeToken()
    }

    /// Writes a service account token into `tokenFile`, as the kubelet does when it rotates it.
    func writeToken(subject: String = AzureIdentityFixture.subject, issuedAt: Date = Date(), lifetime: Int = 3600) throws {
        try FakeAzureKeyVault.federatedToken(issuer: Self.issuer, subject: subject, lifetime: lifetime, issuedAt: issuedAt)
            .write(toFile: tokenFile, atomically: true, encoding: .utf8)
    }

    /// What AKS's workload identity webhook puts into a pod's environment.
    func workloadEnvironment(_ base: String) -> [String: String] {
        [
            "AZURE_FEDERATED_TOKEN_FILE": tokenFile, "AZURE_CLIENT_ID": Self.workloadApp,
            "AZURE_TENANT_ID": fake.tenantID, "AZURE_AUTHORITY_HOST": FakeAzureKeyVault.authority(base),
        ]
    }

    /// RSA key generation is slow in debug builds: one certificate for the whole run.
    private static let made = Result { try FakeAzureKeyVault.ClientCertificate() }
    static func sharedCertificate() throws -> FakeAzureKeyVault.ClientCertificate { try made.get() }
}

/// Options of provider `azure` at `base` with `auth` (no retries, no cache).
func azureProvider(_ base: String, _ auth: [String: Any]? = nil, _ extra: [String: Any] = [:], environment: [String: String] = [:])
    throws(SecretError) -> ManagedProvider
{
    var values: [String: Any] = ["name": "azure", "type": "azure-key-vault", "vault_url": base, "max_retries": "0", "cache_ttl": "0"]
    if let auth { values["auth"] = auth }
    values.merge(extra) { $1 }
    return try CloudTest.provider(values, environment: environment)
}

/// Base64url decoding for the tests (JWT segments).
enum FakeCloudDecode {
    static func base64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
