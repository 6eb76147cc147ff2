import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Each Azure credential the agent has, in a real `outpost agent` process configured
/// through its config file and environment as on Azure: AKS workload identity (the
/// pod's environment alone, with the node's IMDS answering too), an app registration's
/// certificate, a user-assigned managed identity chosen by `AZURE_CLIENT_ID`, and an
/// Azure Arc-enabled server's identity. Each agent's task prints the canary it read,
/// which the stored log shows as [SECURE].
@Suite("Azure Key Vault credentials in a real agent", .serialized)
struct AzureAuthProcessTests {
    static let workloadApp = "5b6c4d7e-8f90-41b2-a3c4-d5e6f0d3a1f4"
    static let certificateApp = "0b7d4e6f-9a1b-4c3d-8e5f-6a7b3f1c2a8e"

    @Test("workload identity, certificate, user-assigned managed identity and Azure Arc each read a canary shown as [SECURE]")
    func credentials() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-azure-e2e")
        defer { directory.remove() }
        let arcKeys = directory.file("azcmagent-tokens")
        try FileManager.default.createDirectory(atPath: arcKeys, withIntermediateDirectories: true)

        let fake = FakeAzureKeyVault(
            managedIdentities: ["node-mi", "user-mi"], arcKeyDirectory: arcKeys, arcIdentity: "arc-machine")
        // The node's own identity may read nothing: an agent that falls back to it fails.
        fake.deny(principal: "node-mi")
        let certificate = try FakeAzureKeyVault.ClientCertificate()
        try fake.registerCertificate(certificate.certificatePEM, for: Self.certificateApp)
        let certificateFile = directory.file("app.pem")
        try certificate.combinedPEM.write(toFile: certificateFile, atomically: true, encoding: .utf8)
        let issuer = "https://oidc.prod-aks.azure.com/1f2e3d4c/"
        let subject = "system:serviceaccount:outpost:outpost-agent"
        fake.addFederatedCredential(clientID: Self.workloadApp, issuer: issuer, subject: subject)
        let tokenFile = directory.file("azure-identity-token")
        try FakeAzureKeyVault.federatedToken(issuer: issuer, subject: subject)
            .write(toFile: tokenFile, atomically: true, encoding: .utf8)

        let kinds = ["workload", "certificate", "managed", "arc"]
        let canaries = Dictionary(uniqueKeysWithValues: kinds.map { ($0, "cnry-az-\($0)-" + UUID().uuidString.lowercased().prefix(13)) })
        for kind in kinds { fake.setSecret("\(kind)-secret", canaries[kind]!) }

        try await fake.run { base in
            let cluster = try await Cluster()
            defer { cluster.terminate() }
            func config(_ auth: String?) -> String {
                """
                secrets:
                  providers:
                    - name: azure
                      type: azure-key-vault
                      vault_url: \(base)
                \(auth.map { "      auth: \($0)\n" } ?? "")
                """
            }
            let agents: [(kind: String, config: String, environment: [String: String])] = [
                // AKS: what the workload identity webhook injects; the node's IMDS is reachable too.
                (
                    "workload", config(nil),
                    [
                        "AZURE_FEDERATED_TOKEN_FILE": tokenFile, "AZURE_CLIENT_ID": Self.workloadApp,
                        "AZURE_TENANT_ID": fake.tenantID, "AZURE_AUTHORITY_HOST": base,
                        "AZURE_POD_IDENTITY_AUTHORITY_HOST": base,
                    ]
                ),
                (
                    "certificate",
                    config(
                        "{method: client_certificate, tenant_id: \(fake.tenantID), client_id: \(Self.certificateApp), "
                            + "certificate_file: \(certificateFile), authority: \(base)}"),
                    [:]
                ),
                ("managed", config(nil), ["AZURE_CLIENT_ID": "user-mi", "AZURE_POD_IDENTITY_AUTHORITY_HOST": base]),
                (
                    "arc", config("{method: managed_identity, arc_key_directory: \(arcKeys)}"),
                    ["IDENTITY_ENDPOINT": FakeAzureKeyVault.arcEndpoint(base), "IMDS_ENDPOINT": base]
                ),
            ]
            for agent in agents {
                let configFile = cluster.directory.file("agent-\(agent.kind).yaml")
                try agent.config.write(toFile: configFile, atomically: true, encoding: .utf8)
                try await cluster.startAgent(
                    name: "azure-\(agent.kind)", tags: "azure-\(agent.kind)",
                    arguments: ["--kill-grace", "2s", "--config-file", configFile],
                    environment: ChildProcess.baseEnvironment(agent.environment))
                _ = try await cluster.client.createTarget(
                    Target(
                        name: "read-\(agent.kind)", integration: "bash", tags: TagSet(["azure-\(agent.kind)"]),
                        secrets: [SecretReference(provider: "azure", path: "\(agent.kind)-secret", mapping: ["CANARY": ""])]))
            }
            var tasks: [String: String] = [:]
            for kind in kinds {
                var script = "printf 'canary %s\\n' \"$CANARY\"\n"
                // The task may read what the agent's user reads: the private key is masked all the same.
                if kind == "certificate" { script += "cat '\(certificateFile)'\n" }
                if kind == "workload" { script += "printf 'token %s\\n' \"$(cat '\(tokenFile)')\"\n" }
                let task = try await cluster.client.createTask(CreateTaskRequest(target: "read-\(kind)", script: script))
                tasks[kind] = task.id
            }
            for kind in kinds {
                let done = try await cluster.waitForTask(tasks[kind]!)
                #expect(done.status == .succeeded, "\(kind): task ended \(done.status): \(done.error ?? "")")
                let log = String(decoding: try await cluster.client.readLog(taskID: tasks[kind]!).bytes, as: UTF8.self)
                #expect(log.contains("canary [SECURE]"), "\(kind): \(log.count) bytes of log")
                #expect(!log.contains(canaries[kind]!), "\(kind): the canary is in the log")
                if kind == "certificate" {
                    #expect(log.contains("-----BEGIN CERTIFICATE-----"), "the task printed the certificate file")
                    for line in Self.body(of: certificate.privateKeyPEM) {
                        #expect(!log.contains(line), "a line of the private key is in the log")
                    }
                }
                if kind == "workload" {
                    #expect(log.contains("token [SECURE]"), "the service account token is masked")
                }
            }
            for agent in cluster.agents {
                for canary in canaries.values {
                    #expect(!agent.process.stdout.contains(canary) && !agent.process.stderr.contains(canary))
                }
            }
        }
        let grants = fake.grants
        #expect(grants.contains { $0.kind == .federatedToken && $0.principal == Self.workloadApp })
        #expect(grants.contains { $0.kind == .clientCertificate && $0.principal == Self.certificateApp })
        #expect(grants.contains { $0.kind == .imds && $0.principal == "user-mi" })
        #expect(grants.contains { $0.kind == .arc && $0.principal == "arc-machine" })
        #expect(!grants.contains { $0.principal == "node-mi" }, "no agent fell back to the node's identity: \(grants)")
    }

    /// The base64 lines of a PEM block.
    static func body(of pem: String) -> [String] {
        pem.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") && $0.count > 8 }
    }
}
