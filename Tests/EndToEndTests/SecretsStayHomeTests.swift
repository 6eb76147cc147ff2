import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// The proof that secrets stay home: canary values in every provider, printed by
/// a task plainly, split across writes, base64-encoded (also line-wrapped by `base64`
/// and Python, at any alignment) and on several lines,
/// never appear in the stored log, an API answer, the hub's output, or any file
/// under the hub's data directory.
@Suite("Secrets stay on the agent", .serialized)
struct SecretsStayHomeTests {
    /// A value that must never leave the agent.
    static func canary(_ label: String) -> String {
        "cnry-\(label)-" + UUID().uuidString.lowercased().prefix(13)
    }

    struct Canaries {
        let env = canary("env")
        let http = canary("http")
        let vault = canary("vault")
        let azure = canary("azure")
        let gcpLine1 = canary("gcp1")
        let gcpLine2 = canary("gcp2")
        let aws = canary("aws")
        let agentToken = canary("agent-token")

        var all: [String] { [env, http, vault, azure, gcpLine1, gcpLine2, aws, agentToken] }
    }

    @Test("canaries from every provider are masked in the log and found nowhere on the hub")
    func canariesStayHome() async throws {
        let canaries = Canaries()
        // The agent's own DEPLOY_TOKEN is masked though no task can see it: the script
        // prints the same value, written in two pieces so that the script the hub
        // stores does not hold it whole.
        // A private moto: this test signs with made-up keys, so moto's signature check stays off here
        // (the AWS provider's own tests run it with the check on).
        let moto: MotoServer? = try await MotoServer.startPrivate()

        let vault = FakeVault()
        await vault.mount("secret", kvVersion: 2)
        _ = await vault.put("apps/web", ["token": canaries.vault])
        await vault.addToken("vault-root-e2e-token")

        let store = FakeHTTPStore()
        await store.put("api", json: ["API_KEY": canaries.http])

        let azureSecret = "azure-client-secret-e2e"
        let azure = FakeAzureKeyVault(clients: ["outpost-e2e": azureSecret])
        _ = azure.setSecret("db-pass", canaries.azure)

        let account = try FakeGCPServiceAccount()
        let gcp = FakeGCPSecretManager(serviceAccounts: [account])
        _ = gcp.setSecret("multi", "\(canaries.gcpLine1)\n\(canaries.gcpLine2)")

        if let moto { try await Self.seedAWS(moto.url, name: "prod/e2e", string: #"{"AWS_CANARY": "\#(canaries.aws)"}"#) }

        try await vault.run { vaultURL in
            try await store.run { storeURL in
                try await azure.run { azureURL in
                    try await gcp.run { gcpURL in
                        try await Self.runScenario(
                            canaries: canaries, moto: moto, vaultURL: vaultURL, storeURL: storeURL,
                            azureURL: azureURL, azureTenant: azure.tenantID, azureSecret: azureSecret,
                            gcpURL: gcpURL, gcpKeyFile: account.keyFileJSON(tokenURI: FakeGCPSecretManager.tokenURI(gcpURL)))
                    }
                }
            }
        }
        // (If the test throws first, moto stops with the test process.)
        await moto?.stop()
    }

    private static func runScenario(
        canaries: Canaries, moto: MotoServer?, vaultURL: String, storeURL: String, azureURL: String,
        azureTenant: String, azureSecret: String, gcpURL: String, gcpKeyFile: String
    ) async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let keyFile = cluster.directory.file("gcp-key.json")
        try gcpKeyFile.write(toFile: keyFile, atomically: true, encoding: .utf8)
        var config = """
            secrets:
              providers:
                - {name: env, type: env, prefix: OUTPOST_SECRET_}
                - {name: store, type: http, store_url: "\(storeURL)/secrets/{name}"}
                - name: vault
                  type: vault
                  address: \(vaultURL)
                  auth: {method: token, token: vault-root-e2e-token}
                - name: azure
                  type: azure-key-vault
                  vault_url: \(azureURL)
                  auth: {method: client_credentials, tenant_id: \(azureTenant), client_id: outpost-e2e, client_secret: \(azureSecret), authority: \(FakeAzureKeyVault.authority(azureURL))}
                - name: gcp
                  type: gcp-secret-manager
                  project: outpost-test
                  endpoint: \(gcpURL)
                  auth: {method: service_account, key_file: \(keyFile)}

            """
        var agentEnvironment = [
            "OUTPOST_SECRET_DB": #"{"DB_PASSWORD": "\#(canaries.env)"}"#,
            "DEPLOY_TOKEN": canaries.agentToken,
            // Every log line the agent can write, debug included, is searched below.
            "OUTPOST_LOG_LEVEL": "trace",
        ]
        if let moto {
            config += """
                    - {name: aws, type: aws-secrets-manager, region: us-east-1, endpoint: \(moto.url), sts_endpoint: \(moto.url)}

                """
            agentEnvironment.merge(["AWS_ACCESS_KEY_ID": "AKIAE2ETESTKEY000000", "AWS_SECRET_ACCESS_KEY": "e2e-made-up-secret-key"]) { _, new in new }
        }
        let configFile = cluster.directory.file("agent.yaml")
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        let agent = try await cluster.startAgent(
            name: "secret-agent-1", arguments: ["--kill-grace", "2s", "--config-file", configFile],
            environment: ChildProcess.baseEnvironment(agentEnvironment))

        var references = [
            SecretReference(provider: "env", path: "OUTPOST_SECRET_DB"),
            SecretReference(provider: "store", path: "api", mapping: ["API_KEY": "API_KEY"]),
            SecretReference(provider: "vault", path: "apps/web", mapping: ["VAULT_VALUE": "token"]),
            SecretReference(provider: "azure", path: "db-pass", mapping: ["AZ_PASS": ""]),
            SecretReference(provider: "gcp", path: "multi", mapping: ["MULTI": ""]),
        ]
        var script = """
            printf 'plain %s\\n' "$DB_PASSWORD"
            printf 'split %s' "${API_KEY:0:7}"; sleep 0.4; printf '%s end\\n' "${API_KEY:7}"
            printf '%s' "$VAULT_VALUE" | base64
            printf 'long %s%s%s' "$VAULT_VALUE" "$DB_PASSWORD" "$AZ_PASS" | base64
            printf "%0100d%s" 0 "$AZ_PASS" | base64
            python3 -c 'import base64, os; print(base64.encodebytes(os.environ["DB_PASSWORD"].encode() * 3).decode())'
            printf 'url %s\\n' "$(printf '%s' "$AZ_PASS" | sed 's/-/%2D/g')"
            printf '%s\\n' "$MULTI"
            printf 'json {"v":"%s"}\\n' "$AZ_PASS"
            printf 'agent token %s%s\n' '\(canaries.agentToken.prefix(9))' '\(canaries.agentToken.dropFirst(9))'

            """
        if moto != nil {
            references.append(SecretReference(provider: "aws", path: "prod/e2e"))
            script += "printf 'aws %s\\n' \"$AWS_CANARY\"\n"
        }
        _ = try await cluster.client.createTarget(Target(name: "secretive", integration: "bash", secrets: references))

        let task = try await cluster.client.createTask(CreateTaskRequest(target: "secretive", script: script))
        let done = try await cluster.waitForTask(task.id)
        #expect(done.status == .succeeded, "task ended \(done.status): \(done.error ?? "")")
        let log = String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self)
        #expect(log.contains("plain [SECURE]"), "\(log.count) bytes of log")
        #expect(log.contains("split [SECURE] end"))
        #expect(log.contains("agent token [SECURE]"))
        #expect(log.contains("json {\"v\":\"[SECURE]\"}"))
        #expect(log.contains("url [SECURE]"))
        if moto != nil { #expect(log.contains("aws [SECURE]")) }
        #expect(log.components(separatedBy: "[SECURE]").count - 1 >= 8)

        // Browsing shows names, never values.
        let listing = try await cluster.cli(["secrets", "ls", "--agent", "secret-agent-1", "vault:apps/"])
        #expect(listing.code == 0, "\(listing.stderr)")
        let everything = try await cluster.cli(["secrets", "ls", "--agent", "secret-agent-1", "--json"])
        #expect(everything.stdout.contains("\"OUTPOST_SECRET_DB\""))

        // Everything the hub can show or has stored, and every line the agent logged.
        var haystacks: [(String, Data)] = [("log", Data(log.utf8))]
        haystacks.append(("secrets ls", Data((listing.stdout + listing.stderr + everything.stdout + everything.stderr).utf8)))
        haystacks.append(("agent stdout", Data(agent.process.stdout.utf8)))
        haystacks.append(("agent stderr", Data(agent.process.stderr.utf8)))
        for path in ["/api/v1/tasks/\(task.id)", "/api/v1/tasks?limit=100", "/api/v1/targets", "/api/v1/agents"] {
            haystacks.append(("GET \(path)", try await Self.get(path, cluster)))
        }
        haystacks.append(("hub stdout", Data(cluster.hub.process.stdout.utf8)))
        haystacks.append(("hub stderr", Data(cluster.hub.process.stderr.utf8)))
        let files = FileManager.default.enumerator(atPath: cluster.hub.dataDirectory)?.compactMap { $0 as? String } ?? []
        for file in files {
            if let data = FileManager.default.contents(atPath: cluster.hub.dataDirectory + "/" + file) {
                haystacks.append(("hub file \(file)", data))
            }
        }
        #expect(files.contains("outpost.sqlite"))
        let needles = canaries.all.filter { moto != nil || $0 != canaries.aws }
        for needle in needles {
            for form in Self.forms(of: needle) {
                for (name, data) in haystacks where Self.unwrapped(data).range(of: Data(form.utf8)) != nil {
                    // Name the canary's label only: the test must not print the value either.
                    Issue.record("a canary (\(needle.split(separator: "-")[1])) appears in \(name)")
                }
            }
        }
    }

    /// The value and its base64 at each of the three alignments it can have inside a
    /// longer encoded stream (the stable middle of each encoding).
    private static func forms(of needle: String) -> [String] {
        var forms = [needle]
        for lead in 0..<3 {
            let encoded = Array(Data(Array(repeating: UInt8(ascii: "x"), count: lead) + Array(needle.utf8)).base64EncodedString())
            let start = lead == 0 ? 0 : 4
            forms.append(String(encoded[start..<(encoded.count - 4)]))
        }
        return forms
    }

    /// The bytes with line breaks removed, so base64 wrapped at any width is found too.
    private static func unwrapped(_ data: Data) -> Data {
        Data(data.filter { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") })
    }

    private static func get(_ path: String, _ cluster: Cluster) async throws -> Data {
        var request = HTTPClientRequest(url: cluster.hub.url + path)
        request.headers.add(name: "Authorization", value: "Bearer \(cluster.hub.adminToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return Data(try await response.body.collect(upTo: 16 << 20).readableBytesView)
    }

    /// Creates a secret in a private moto server, first switching its signature
    /// check off for this test (`/moto-api/reset-auth`).
    private static func seedAWS(_ url: String, name: String, string: String) async throws {
        var reset = HTTPClientRequest(url: url + "/moto-api/reset-auth")
        reset.method = .POST
        reset.body = .bytes(ByteBuffer(string: "100000"))
        _ = try await HTTPClient.shared.execute(reset, timeout: .seconds(10)).body.collect(upTo: 1 << 16)
        var request = HTTPClientRequest(url: url + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-amz-json-1.1")
        request.headers.add(name: "X-Amz-Target", value: "secretsmanager.CreateSecret")
        request.headers.add(
            name: "Authorization",
            value: "AWS4-HMAC-SHA256 Credential=AKIAE2ETESTKEY000000/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00")
        let body = try JSONSerialization.data(withJSONObject: ["Name": name, "SecretString": string])
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200 else {
            throw HarnessError("moto CreateSecret answered \(response.status.code): \(String(buffer: answer))")
        }
    }

    @Test("a missing secret or key rejects the task at once, naming provider, path and key, never the value")
    func failuresAreClearAndFast() async throws {
        let vault = FakeVault()
        await vault.mount("secret", kvVersion: 2)
        let hidden = Self.canary("hidden")
        _ = await vault.put("apps/web", ["token": hidden])
        await vault.addToken("vault-root-e2e-token")
        try await vault.run { vaultURL in
            let cluster = try await Cluster()
            defer { cluster.terminate() }
            let configFile = cluster.directory.file("agent.yaml")
            try """
                secrets:
                  providers:
                    - {name: vault, type: vault, address: \(vaultURL), auth: {method: token, token: vault-root-e2e-token}}
                    - {name: down, type: http, store_url: "http://127.0.0.1:1/{name}", max_retries: 1, timeout: 2s}
                """.write(toFile: configFile, atomically: true, encoding: .utf8)
            try await cluster.startAgent(name: "secret-agent-2", arguments: ["--config-file", configFile])
            let cases: [(SecretReference, String)] = [
                (SecretReference(provider: "vault", path: "apps/missing"), #"secret provider "vault" (vault), path "apps/missing": not found"#),
                (SecretReference(provider: "vault", path: "apps/web", mapping: ["X": "nokey"]), #"path "apps/web", key "nokey": not found"#),
                (SecretReference(provider: "nowhere", path: "x"), #"secret provider "nowhere", path "x": provider not configured"#),
                (SecretReference(provider: "down", path: "x"), #"secret provider "down" (http), path "x": provider unreachable"#),
            ]
            for (index, (reference, expected)) in cases.enumerated() {
                _ = try await cluster.client.createTarget(Target(name: "bad-\(index)", integration: "bash", secrets: [reference]))
                let started = ContinuousClock.now
                let run = try await cluster.cli(["task", "run", "bad-\(index)", "--script", "echo never"])
                #expect(ContinuousClock.now - started < .seconds(15))
                #expect(run.code == 125, "\(run.stderr)")
                #expect(run.stderr.contains("rejected"))
                #expect(run.stderr.contains(expected), "\(run.stderr)")
                #expect(!run.stderr.contains(hidden) && !run.stdout.contains(hidden))
                #expect(!run.stdout.contains("never"))
            }
        }
    }
}

