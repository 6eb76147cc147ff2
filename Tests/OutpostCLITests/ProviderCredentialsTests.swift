import Foundation
import OutpostSecrets
import Testing

@testable import OutpostCLI

/// The credentials of the agent's own providers are among the values every task's log masks.
@Suite("Provider credentials to mask")
struct ProviderCredentialsTests {
    @Test("credential options, credential files (JSON key files by key) and environment overrides are found; addresses, ids and roles are not")
    func credentials() throws {
        let directory = NSTemporaryDirectory() + "outpost-credentials-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "s.approle-secret-id\n".write(toFile: directory + "/secret-id", atomically: true, encoding: .utf8)
        try #"{"type": "service_account", "client_email": "a@b.iam", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", "private_key_id": "k1"}"#
            .write(toFile: directory + "/gcp.json", atomically: true, encoding: .utf8)
        let yaml = """
            hub: https://h:1
            token: t
            secrets:
              providers:
                - {name: vault, type: vault, address: "https://vault.internal:8200", auth: {method: approle, role_id: app, secret_id_file: \(directory)/secret-id}}
                - {name: vault2, type: vault, address: "https://vault2.internal:8200", auth: {method: token, token: s.vault-root-token}}
                - {name: azure, type: azure-key-vault, vault_name: kv, auth: {method: client_credentials, tenant_id: t1, client_id: c1, client_secret: azure-client-secret}}
                - {name: store, type: http, store_url: "https://store/{name}", header: {name: X-Api-Key, value: store-api-key-value}}
                - {name: gcp, type: gcp-secret-manager, project: p, auth: {method: service_account, key_file: \(directory)/gcp.json}}
                - {name: missing, type: http, store_url: "https://s/{name}", token_file: \(directory)/absent}
            """
        let file = try ConfigFile.parse(yaml, path: "agent.yaml")
        let settings = try AgentSettings.resolve(
            flags: .init(), file: file, environment: ["OUTPOST_AGENT_SECRETS_STORE_TOKEN": "store-token-from-env"])
        let found = ProviderCredentials.values(of: settings.secrets)
        #expect(found.map(\.name) == [
            "secrets.providers[vault].auth.secret_id_file",
            "secrets.providers[vault2].auth.token",
            "secrets.providers[azure].auth.client_secret",
            "secrets.providers[store].header.value",
            "secrets.providers[store].token",
            "secrets.providers[gcp].auth.key_file#private_key",
        ])
        let values = Set(found.map(\.value))
        for expected in ["s.approle-secret-id", "s.vault-root-token", "azure-client-secret", "store-api-key-value", "store-token-from-env"] {
            #expect(values.contains(expected), "missing \(expected)")
        }
        #expect(values.contains { $0.hasPrefix("-----BEGIN PRIVATE KEY-----") })
    }
}
