import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Real `outpost` processes whose agent logs in to `FakeVault` with the AWS IAM,
/// JWT and TLS certificate methods from its config file, and a task that prints the
/// secret read: the log shows `[SECURE]`, never the value.
@Suite("Vault logins of a real agent: aws (through moto), jwt, cert", .serialized)
struct VaultAuthProcessTests {
    static func canary(_ label: String) -> String {
        "cnry-vault-\(label)-" + UUID().uuidString.lowercased().prefix(13)
    }

    /// Starts an agent with `providerYAML` as its only secret provider (named `vault`),
    /// runs a task printing the `password` of `vault:app/db`, and checks the log.
    static func runTask(
        providerYAML: String, canary: String, environment: [String: String] = [:], secrets: [String] = []
    ) async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let config = "secrets:\n  providers:\n" + providerYAML
        let configFile = cluster.directory.file("agent.yaml")
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        let agent = try await cluster.startAgent(
            name: "vault-agent", arguments: ["--kill-grace", "2s", "--config-file", configFile],
            environment: ChildProcess.baseEnvironment(environment.merging(["OUTPOST_LOG_LEVEL": "debug"]) { _, new in new }))
        _ = try await cluster.client.createTarget(
            Target(
                name: "vault-read", integration: "bash",
                secrets: [SecretReference(provider: "vault", path: "app/db", mapping: ["DB_PASSWORD": "password"])]))
        let task = try await cluster.client.createTask(
            CreateTaskRequest(target: "vault-read", script: "printf 'password %s\\n' \"$DB_PASSWORD\"\n"))
        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .succeeded, "task ended \(done.status): \(done.error ?? "")\nagent:\n\(agent.process.stderr)")
        let log = String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self)
        #expect(log.contains("password [SECURE]"), "log: \(log)")
        for (name, text) in [("log", log), ("agent stderr", agent.process.stderr), ("agent stdout", agent.process.stdout)] {
            #expect(!text.contains(canary), "the secret shows in the \(name)")
            for secret in secrets { #expect(!text.contains(secret), "a credential shows in the \(name)") }
        }
        #expect(agent.process.stderr.contains("logged in to Vault"), "agent:\n\(agent.process.stderr)")
    }

    @Test(
        "aws: the agent's AWS keys sign GetCallerIdentity; the fake Vault has moto check the signature",
        .enabled("moto_server is missing and could not be installed") {
            ProcessInfo.processInfo.environment["OUTPOST_REQUIRE_MOTO"] == "1" ? true : await MotoServer.isAvailable()
        })
    func aws() async throws {
        // A private moto: the IAM user is made within a budget of unchecked actions,
        // after which moto checks every signature.
        let moto = try await MotoServer.startPrivate()
        do {
            let user = try await FakeVaultMoto.createUser("vault-e2e-agent", motoURL: moto.url)
            let secret = Self.canary("aws")
            let fake = FakeVault()
            await fake.configureAWS(stsEndpoint: moto.url, serverID: "vault.e2e.test")
            await fake.addAWSRole("outpost", boundIAMPrincipalARNs: [user.arn])
            await fake.put("app/db", ["password": secret])
            try await fake.run { address in
                try await Self.runTask(
                    providerYAML: """
                            - name: vault
                              type: vault
                              address: \(address)
                              auth: {method: aws, role: outpost, mount: aws, server_id: vault.e2e.test, sts_endpoint: "\(moto.url)"}

                        """,
                    canary: secret,
                    environment: [
                        "AWS_ACCESS_KEY_ID": user.accessKeyID, "AWS_SECRET_ACCESS_KEY": user.secretAccessKey,
                        "AWS_EC2_METADATA_DISABLED": "true",
                    ], secrets: [user.secretAccessKey])
                #expect(await fake.loginCount("aws") == 1)
                #expect(await fake.stsRequestCount() == 1)
            }
        } catch {
            await moto.stop()
            throw error
        }
        await moto.stop()
    }

    @Test("jwt: the agent sends the JWT of its token_file")
    func jwt() async throws {
        let directory = try TemporaryDirectory(prefix: "vault-jwt")
        defer { directory.remove() }
        let issuer = FakeJWTIssuer()
        let jwt = try issuer.token(subject: "system:serviceaccount:ci:outpost", audience: "vault")
        let tokenFile = directory.file("token")
        try jwt.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let secret = Self.canary("jwt")
        let fake = FakeVault()
        await fake.addJWTRole("outpost", issuer: issuer, boundAudiences: ["vault"], path: "auth/k8s-jwt")
        await fake.put("app/db", ["password": secret])
        try await fake.run { address in
            try await Self.runTask(
                providerYAML: """
                        - name: vault
                          type: vault
                          address: \(address)
                          auth: {method: jwt, role: outpost, mount: k8s-jwt, token_file: \(tokenFile)}

                    """,
                canary: secret, secrets: [jwt])
            #expect(await fake.loginCount("jwt") == 1)
        }
    }

    @Test("cert: the agent presents its client certificate to Vault over TLS")
    func cert() async throws {
        let directory = try TemporaryDirectory(prefix: "vault-cert")
        defer { directory.remove() }
        let serverCA = try TestCertificateAuthority(name: "Vault E2E Server CA")
        let clientCA = try TestCertificateAuthority(name: "Vault E2E Client CA")
        let caFile = try serverCA.writeCertificate(to: directory.url, name: "vault-ca.pem")
        let client = try clientCA.issue(commonName: "vault-agent", dnsNames: ["vault-agent.test"], ipAddresses: [])
        let files = try client.write(to: directory.url, name: "agent")
        let secret = Self.canary("cert")
        let fake = FakeVault()
        try await fake.addCertRole("agents", caPEM: try clientCA.certificatePEM, allowedCommonNames: ["vault-agent"])
        await fake.put("app/db", ["password": secret])
        try await fake.run(tls: try serverCA.issue(), clientCAs: [try clientCA.certificatePEM]) { address in
            try await Self.runTask(
                providerYAML: """
                        - name: vault
                          type: vault
                          address: \(address)
                          tls_ca_file: \(caFile)
                          auth: {method: cert, name: agents, cert_file: \(files.certificate), key_file: \(files.key)}

                    """,
                canary: secret, secrets: [String(client.privateKeyPEM.split(separator: "\n")[1])])
            #expect(await fake.loginCount("cert") == 1)
        }
    }
}
