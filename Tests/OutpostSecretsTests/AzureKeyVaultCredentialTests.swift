import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

@Suite("Azure Key Vault: workload identity and certificates")
struct AzureKeyVaultCredentialTests {
    @Test("AKS workload identity from the environment alone wins over the node's IMDS (as DefaultAzureCredential)")
    func workloadIdentityFromEnvironment() async throws {
        let fixture = try AzureIdentityFixture(managedIdentities: ["node-mi"])
        defer { fixture.directory.remove() }
        let value = CloudTest.canary()
        fixture.fake.setSecret("db", value)
        try await fixture.fake.run { base in
            // The node's IMDS answers too (pod identity's variable points at it): it must not be asked.
            var environment = fixture.workloadEnvironment(base)
            environment["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = base
            for auth in [nil, ["method": "managed_identity"]] as [[String: Any]?] {
                let provider = try azureProvider(base, auth, environment: environment)
                #expect(try await provider.fetch(path: "db") == .text(value))
            }
        }
        #expect(fixture.fake.grants.map(\.kind) == [.federatedToken, .federatedToken])
        #expect(fixture.fake.grants.allSatisfy { $0.principal == AzureIdentityFixture.workloadApp })
    }

    @Test("workload identity through the config file: method, token_file, tenant_id, client_id, authority")
    func workloadIdentityFromConfig() async throws {
        let fixture = try AzureIdentityFixture()
        defer { fixture.directory.remove() }
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let provider = try azureProvider(
                base,
                [
                    "method": "workload_identity", "token_file": fixture.tokenFile, "tenant_id": fixture.fake.tenantID,
                    "client_id": AzureIdentityFixture.workloadApp, "authority": FakeAzureKeyVault.authority(base),
                ])
            #expect(try await provider.fetch(path: "db") == .text("value"))
            // token_file alone chooses the method; the rest from the environment.
            let inferred = try azureProvider(
                base, ["token_file": fixture.tokenFile],
                environment: ["AZURE_CLIENT_ID": AzureIdentityFixture.workloadApp, "AZURE_TENANT_ID": fixture.fake.tenantID,
                              "AZURE_AUTHORITY_HOST": base])
            #expect(try await inferred.fetch(path: "db") == .text("value"))
        }
        #expect(fixture.fake.grants.map(\.kind) == [.federatedToken, .federatedToken])
    }

    @Test("the token file is read at every exchange: an expired token, then the kubelet's rotation, no restart")
    func workloadIdentityRotation() async throws {
        let fixture = try AzureIdentityFixture()
        defer { fixture.directory.remove() }
        fixture.fake.setSecret("db", "value")
        fixture.fake.setTokenLifetime(seconds: 0)  // every fetch exchanges the file again
        try fixture.writeToken(issuedAt: Date() - 7200)  // expired an hour ago
        try await fixture.fake.run { base in
            let provider = try azureProvider(base, environment: fixture.workloadEnvironment(base))
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("AADSTS700024") == true, "\(error?.message ?? "")")
            let stale = try String(contentsOfFile: fixture.tokenFile, encoding: .utf8)
            #expect(error?.message.contains(stale) == false)

            try fixture.writeToken()
            #expect(try await provider.fetch(path: "db") == .text("value"))
            try fixture.writeToken()
            #expect(try await provider.fetch(path: "db") == .text("value"))
        }
        let ids = fixture.fake.grants.compactMap(\.assertionID)
        #expect(ids.count == 2 && Set(ids).count == 2, "each exchange sent the file's current token")
    }

    @Test("a token for another service account has no federated credential: denied with Entra ID's words")
    func workloadIdentityWrongSubject() async throws {
        let fixture = try AzureIdentityFixture()
        defer { fixture.directory.remove() }
        try fixture.writeToken(subject: "system:serviceaccount:default:other")
        try await fixture.fake.run { base in
            let provider = try azureProvider(base, environment: fixture.workloadEnvironment(base))
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("AADSTS70021") == true)
            #expect(error?.message.contains("Trace ID") == false)
        }
    }

    @Test("a certificate credential from the config file, and from AZURE_CLIENT_CERTIFICATE_PATH")
    func certificate() async throws {
        let fixture = try AzureIdentityFixture()
        defer { fixture.directory.remove() }
        let value = CloudTest.canary()
        fixture.fake.setSecret("db", value)
        try await fixture.fake.run { base in
            let configured = try azureProvider(
                base,
                [
                    "method": "client_certificate", "tenant_id": fixture.fake.tenantID,
                    "client_id": AzureIdentityFixture.certificateApp, "certificate_file": fixture.certificateFile,
                    "authority": FakeAzureKeyVault.authority(base),
                ])
            #expect(try await configured.fetch(path: "db") == .text(value))
            let fromEnvironment = try azureProvider(
                base,
                environment: [
                    "AZURE_TENANT_ID": fixture.fake.tenantID, "AZURE_CLIENT_ID": AzureIdentityFixture.certificateApp,
                    "AZURE_CLIENT_CERTIFICATE_PATH": fixture.certificateFile, "AZURE_AUTHORITY_HOST": base,
                ])
            #expect(try await fromEnvironment.fetch(path: "db") == .text(value))
        }
        #expect(fixture.fake.grants.map(\.kind) == [.clientCertificate, .clientCertificate])
        #expect(fixture.fake.grants.allSatisfy { $0.algorithm == "RS256" })
    }

    @Test("a certificate Entra ID does not know is denied (AADSTS700027)")
    func unknownCertificate() async throws {
        let fixture = try AzureIdentityFixture()
        defer { fixture.directory.remove() }
        let other = try FakeAzureKeyVault.ClientCertificate(commonName: "someone-else")
        let path = fixture.directory.file("other.pem")
        try other.combinedPEM.write(toFile: path, atomically: true, encoding: .utf8)
        try await fixture.fake.run { base in
            let provider = try azureProvider(
                base,
                [
                    "tenant_id": fixture.fake.tenantID, "client_id": AzureIdentityFixture.certificateApp,
                    "certificate_file": path, "authority": base,
                ])
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("AADSTS700027") == true)
        }
    }

    @Test("the client assertion: RS256, x5t the SHA-1 thumbprint, aud the token endpoint, iss = sub = client id, jti, nbf, exp")
    func assertionShape() throws {
        let certificate = try AzureIdentityFixture.sharedCertificate()
        let loaded = try AzureClientCertificate(pem: certificate.combinedPEM, describedAs: "test")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let endpoint = "https://login.microsoftonline.com/tenant/oauth2/v2.0/token"
        let jwt = try loaded.assertion(clientID: "app", audience: endpoint, sendChain: true, now: now)
        let parts = jwt.split(separator: ".")
        #expect(parts.count == 3)
        func object(_ part: Substring) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(try #require(FakeCloudDecode.base64URL(part)))) as? [String: Any] ?? [:]
        }
        let header = try object(parts[0])
        #expect(header["alg"] as? String == "RS256")
        #expect(header["typ"] as? String == "JWT")
        #expect(header["x5t"] as? String == loaded.thumbprint)
        #expect(loaded.thumbprintHex == certificate.thumbprint)
        #expect((header["x5c"] as? [String])?.count == 1)
        let claims = try object(parts[1])
        #expect(claims["aud"] as? String == endpoint)
        #expect(claims["iss"] as? String == "app")
        #expect(claims["sub"] as? String == "app")
        #expect((claims["jti"] as? String)?.isEmpty == false)
        #expect(claims["nbf"] as? Int == 1_800_000_000)
        #expect(claims["exp"] as? Int == 1_800_000_600)
        let again = try loaded.assertion(clientID: "app", audience: endpoint, sendChain: false, now: now)
        #expect(try object(again.split(separator: ".")[0])["x5c"] == nil)
        #expect(try object(again.split(separator: ".")[1])["jti"] as? String != claims["jti"] as? String)
    }

    @Test(
        "certificate files the agent cannot use are named at start, never their contents",
        arguments: ["missing", "no-key", "no-certificate", "encrypted", "other-key", "ec-key"])
    func badCertificateFiles(kind: String) throws {
        let certificate = try AzureIdentityFixture.sharedCertificate()
        let directory = try TemporaryDirectory(prefix: "outpost-azure-cert")
        defer { directory.remove() }
        let path = directory.file("app.pem")
        let ecKey = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oK1Yf6F1ZzRCoAoGCCqGSM49\nAwEHoUQDQgAEhP1TIQ3+gsrLVXhX1ZDEbTbdBoMrBLrLJcv3T9aXmXiN3qymYn7C\nV8OeAnZAomUIqGC9u9lpbKW3s9WLZJNQqw==\n-----END EC PRIVATE KEY-----\n"
        let contents: String? =
            switch kind {
            case "no-key": certificate.certificatePEM
            case "no-certificate": certificate.privateKeyPEM
            case "encrypted": certificate.certificatePEM + "\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
            case "other-key": certificate.certificatePEM + "\n" + (try FakeAzureKeyVault.ClientCertificate()).privateKeyPEM
            case "ec-key": certificate.certificatePEM + "\n" + ecKey
            default: nil
            }
        if let contents { try contents.write(toFile: path, atomically: true, encoding: .utf8) }
        do {
            _ = try azureProvider(
                "https://x.vault.azure.net", ["tenant_id": "t", "client_id": "c", "certificate_file": path])
            Issue.record("expected an invalid certificate_file (\(kind))")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("secrets.providers[azure].auth.certificate_file"), "\(error.message)")
            #expect(error.message.contains(path))
            #expect(!error.message.contains("MII"), "no PEM contents in \(error.message)")
        }
    }
}
