import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

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

@Suite("Azure Key Vault: workload identity, certificates, managed identities")
struct AzureKeyVaultIdentityTests {
    // MARK: Workload identity

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

    // MARK: Certificates

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

    // MARK: Managed identities

    @Test("AZURE_CLIENT_ID selects a user-assigned identity at IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST)")
    func userAssignedFromEnvironment() async throws {
        let fake = FakeAzureKeyVault(managedIdentities: ["system-mi", "user-mi"])
        fake.deny(principal: "system-mi")
        fake.setSecret("db", "value")
        try await fake.run { base in
            let provider = try azureProvider(
                base, environment: ["AZURE_CLIENT_ID": "user-mi", "AZURE_POD_IDENTITY_AUTHORITY_HOST": base + "/"])
            #expect(try await provider.fetch(path: "db") == .text("value"))
            let system = try azureProvider(base, environment: ["AZURE_POD_IDENTITY_AUTHORITY_HOST": base])
            let error = await CloudTest.failure { () async throws(SecretError) in try await system.fetch(path: "db") }
            #expect(error?.code == .denied)
        }
        #expect(fake.grants.map(\.principal) == ["user-mi", "system-mi"])
        #expect(fake.grants.allSatisfy { $0.kind == .imds })
    }

    @Test("App Service takes the user-assigned identity's client_id too")
    func appServiceUserAssigned() async throws {
        let fake = FakeAzureKeyVault(managedIdentities: ["app-system", "app-user"])
        fake.setSecret("db", "value")
        try await fake.run { base in
            let provider = try azureProvider(
                base, ["method": "managed_identity", "client_id": "app-user"],
                environment: ["IDENTITY_ENDPOINT": FakeAzureKeyVault.appServiceEndpoint(base), "IDENTITY_HEADER": fake.appServiceHeader])
            #expect(try await provider.fetch(path: "db") == .text("value"))
        }
        #expect(fake.grants == [.init(kind: .appService, principal: "app-user", audience: FakeAzureKeyVault.publicResource)])
    }

    @Test("Azure Arc: the 401's key file is read from the Arc directory and sent back as Basic authorization")
    func arc() async throws {
        let keys = try TemporaryDirectory(prefix: "outpost-arc")
        defer { keys.remove() }
        let fake = FakeAzureKeyVault(managedIdentities: ["arc-machine"], arcKeyDirectory: keys.path)
        let value = CloudTest.canary()
        fake.setSecret("db", value)
        try await fake.run { base in
            let environment = ["IDENTITY_ENDPOINT": FakeAzureKeyVault.arcEndpoint(base), "IMDS_ENDPOINT": base]
            let provider = try azureProvider(base, ["arc_key_directory": keys.path], environment: environment)
            #expect(try await provider.fetch(path: "db") == .text(value))

            // The documented directory is the default: a key file elsewhere is refused, unsent.
            let strict = try azureProvider(base, environment: environment)
            let error = await CloudTest.failure { () async throws(SecretError) in try await strict.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("/var/opt/azcmagent/tokens") == true, "\(error?.message ?? "")")
        }
        #expect(fake.grants.map(\.kind) == [.arc])
        #expect(fake.counts.tokenRequests == 3, "two for the first provider, one (the challenge) for the second")
    }

    @Test(
        "an Arc key file must be a .key file directly in the Arc directory, of at most 4096 bytes",
        arguments: ["ok", "outside", "dotdot", "extension", "large", "symlink", "relative", "missing"])
    func arcKeyFileRules(kind: String) throws {
        let root = try TemporaryDirectory(prefix: "outpost-arc-rules")
        defer { root.remove() }
        let tokens = root.file("tokens")
        try FileManager.default.createDirectory(atPath: tokens, withIntermediateDirectories: true)
        try "elsewhere".write(toFile: root.file("outside.key"), atomically: true, encoding: .utf8)
        try "the-key".write(toFile: tokens + "/good.key", atomically: true, encoding: .utf8)
        var path = tokens + "/good.key"
        switch kind {
        case "outside": path = root.file("outside.key")
        case "dotdot": path = tokens + "/../outside.key"
        case "extension":
            path = tokens + "/good.txt"
            try "x".write(toFile: path, atomically: true, encoding: .utf8)
        case "large":
            path = tokens + "/large.key"
            try String(repeating: "k", count: 4097).write(toFile: path, atomically: true, encoding: .utf8)
        case "symlink":
            path = tokens + "/link.key"
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: root.file("outside.key"))
        case "relative": path = "tokens/good.key"
        case "missing": path = tokens + "/absent.key"
        default: break
        }
        do {
            let key = try AzureManagedIdentity.readArcKey(path, directory: tokens)
            #expect(kind == "ok" && key == "the-key", "\(kind) was read")
        } catch {
            #expect(kind != "ok", "\(error.message)")
            #expect(error.code == .denied)
            #expect(!error.message.contains("elsewhere"))
        }
    }

    @Test("Service Fabric: header secret over TLS, the server certificate pinned by IDENTITY_SERVER_THUMBPRINT")
    func serviceFabric() async throws {
        let authority = try TestCertificateAuthority(name: "Service Fabric cluster")
        let server = try authority.issue(commonName: "sf-node", dnsNames: ["sf-node.internal"], ipAddresses: ["10.0.0.4"])
        let fake = FakeAzureKeyVault(managedIdentities: ["sf-app"])
        let value = CloudTest.canary()
        fake.setSecret("db", value)
        let thumbprint = try server.sha1Thumbprint
        // One fake on two servers: the identity endpoint over TLS (pinned), the vault over http.
        try await fake.run(tls: server) { tlsBase in
            try await fake.run { base in
                let environment = [
                    "IDENTITY_ENDPOINT": FakeAzureKeyVault.serviceFabricEndpoint(tlsBase),
                    "IDENTITY_HEADER": fake.serviceFabricHeader, "IDENTITY_SERVER_THUMBPRINT": thumbprint.lowercased(),
                ]
                let provider = try azureProvider(base, environment: environment)
                #expect(try await provider.fetch(path: "db") == .text(value))
                #expect(fake.grants.map(\.kind) == [.serviceFabric])

                let before = fake.counts.tokenRequests
                var wrong = environment
                wrong["IDENTITY_SERVER_THUMBPRINT"] = String(repeating: "AB", count: 20)
                let refused = try azureProvider(base, environment: wrong)
                let error = await CloudTest.failure { () async throws(SecretError) in try await refused.fetch(path: "db") }
                #expect(error?.code == .denied)
                #expect(error?.message.contains(thumbprint) == true, "\(error?.message ?? "")")
                #expect(error?.message.contains(fake.serviceFabricHeader) == false)
                #expect(fake.counts.tokenRequests == before, "nothing reached the endpoint")

                // Plain http is not Service Fabric's endpoint: the pin needs TLS.
                var plain = environment
                plain["IDENTITY_ENDPOINT"] = FakeAzureKeyVault.serviceFabricEndpoint(base)
                #expect(throws: SecretError.self) { try azureProvider(base, environment: plain) }
            }
        }
    }

    @Test("Service Fabric, App Service and Arc are told apart by the variables set, as azure-identity does")
    func managedIdentitySources() throws {
        func source(_ environment: [String: String], _ auth: [String: Any] = [:]) throws(SecretError) -> AzureManagedIdentity.Source? {
            let options = CloudTest.options(["name": "azure", "auth": auth])
            let credential = try AzureCredential(
                auth: try options.section("auth") ?? options, environment: environment, defaultAuthority: AzureCloud.publicAuthority)
            guard case .managedIdentity(let identity) = credential else { return nil }
            return identity.source
        }
        let endpoint = "https://10.0.0.4:2377/metadata/identity/oauth2/token"
        let thumbprint = String(repeating: "0A", count: 20)
        #expect(
            try source(["IDENTITY_ENDPOINT": endpoint, "IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": thumbprint])
                == .serviceFabric(url: endpoint, header: "h", thumbprint: thumbprint))
        #expect(try source(["IDENTITY_ENDPOINT": endpoint, "IDENTITY_HEADER": "h"]) == .appService(url: endpoint, header: "h"))
        #expect(
            try source(["IDENTITY_ENDPOINT": endpoint, "IMDS_ENDPOINT": "http://localhost:40342"])
                == .arc(url: endpoint, keyDirectory: "/var/opt/azcmagent/tokens"))
        #expect(try source([:]) == .imds(url: "http://169.254.169.254/metadata/identity/oauth2/token"))
        #expect(
            try source(["AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://10.1.2.3:2579/"])
                == .imds(url: "http://10.1.2.3:2579/metadata/identity/oauth2/token"))
        #expect(throws: SecretError.self) {
            try source(
                ["IDENTITY_ENDPOINT": endpoint, "IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": thumbprint],
                ["method": "managed_identity", "client_id": "x"])
        }
        #expect(throws: SecretError.self) {
            try source(["IDENTITY_ENDPOINT": endpoint, "IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": "not-hex"])
        }
    }

    @Test("the default chain: client secret, then certificate, then workload identity, then managed identity")
    func defaultChain() throws {
        func method(_ environment: [String: String]) throws(SecretError) -> String {
            let options = CloudTest.options(["name": "azure"])
            switch try AzureCredential(auth: options, environment: environment, defaultAuthority: AzureCloud.publicAuthority) {
            case .clientSecret: return "secret"
            case .clientCertificate: return "certificate"
            case .workloadIdentity: return "workload"
            case .managedIdentity: return "managed"
            }
        }
        let certificate = try AzureIdentityFixture.sharedCertificate()
        let directory = try TemporaryDirectory(prefix: "outpost-azure-chain")
        defer { directory.remove() }
        let pem = directory.file("app.pem")
        let token = directory.file("token")
        try certificate.combinedPEM.write(toFile: pem, atomically: true, encoding: .utf8)
        try "eyJhbGciOiJSUzI1NiJ9.e30.c2ln".write(toFile: token, atomically: true, encoding: .utf8)
        let app = ["AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"]
        let all = app.merging(
            ["AZURE_CLIENT_SECRET": "s", "AZURE_CLIENT_CERTIFICATE_PATH": pem, "AZURE_FEDERATED_TOKEN_FILE": token]) { $1 }
        #expect(try method(all) == "secret")
        #expect(try method(all.filter { $0.key != "AZURE_CLIENT_SECRET" }) == "certificate")
        #expect(try method(app.merging(["AZURE_FEDERATED_TOKEN_FILE": token]) { $1 }) == "workload")
        #expect(try method(["AZURE_CLIENT_ID": "c"]) == "managed")
        #expect(try method([:]) == "managed")
    }

    // MARK: Sovereign clouds and the challenge

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

/// Base64url decoding for the tests (JWT segments).
enum FakeCloudDecode {
    static func base64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
