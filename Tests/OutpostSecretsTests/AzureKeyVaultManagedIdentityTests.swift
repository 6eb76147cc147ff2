import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

@Suite("Azure Key Vault: managed identities (IMDS, App Service, Arc, Service Fabric) and the default chain")
struct AzureKeyVaultManagedIdentityTests {
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
}
