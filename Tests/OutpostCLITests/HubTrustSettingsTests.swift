import Foundation
import OutpostAgent
import OutpostCore
import OutpostTestSupport
import OutpostTransport
import Testing

@testable import OutpostCLI

/// `hub_ca`, `hub_cert_sha256` and `insecure_http` for the agent, and `--hub-ca`,
/// `--hub-cert-sha256`, `--insecure-http` for the CLI: layered like the other keys,
/// and a bad value names the key (or flag), where it was set, and the file.
@Suite("Hub TLS trust settings")
struct HubTrustSettingsTests {
    static let token = ["OUTPOST_AGENT_TOKEN": "oprt_t"]
    let missing = "/nonexistent/outpost-hub-ca-\(UUID().uuidString).pem"

    private func caFile() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trust-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try TestCertificateAuthority(name: "Hub CA").writeCertificate(to: directory)
    }

    @Test("hub_ca and hub_cert_sha256 from the file reach the agent's configuration")
    func fromFile() throws {
        let path = try caFile()
        let pin = String(repeating: "AB:", count: 31) + "AB"
        let yaml = try ConfigFile.parse(
            "hub: https://hub.internal:8443\nhub_ca: \(path)\nhub_cert_sha256: \"\(pin)\"\n", path: "agent.yaml")
        let settings = try AgentSettings.resolve(flags: .init(), file: yaml, environment: Self.token)
        guard case .caFile(let file, let certificates) = settings.hubTrust.roots else {
            Issue.record("expected the CA file's roots, got \(settings.hubTrust.roots)")
            return
        }
        #expect(file == path && certificates.count == 1)
        #expect(settings.hubTrust.pin == (try CertificatePin(String(repeating: "ab", count: 32))))
        #expect(try settings.agentConfiguration().hubTrust == settings.hubTrust)
    }

    @Test("a missing CA file is an error naming the key, where it was set and the file")
    func missingCAFile() throws {
        let yaml = try ConfigFile.parse("hub: https://hub.internal:8443\nhub_ca: \(missing)\n", path: "agent.yaml")
        let fromFile = #expect(throws: ConfigError.self) {
            try AgentSettings.resolve(flags: .init(), file: yaml, environment: Self.token)
        }
        #expect(fromFile?.message.hasPrefix("agent.yaml:2: hub_ca: ") == true)
        #expect(fromFile?.message.contains(missing) == true)

        var flags = AgentSettings.Flags()
        flags.hubCA = missing
        let fromFlag = #expect(throws: ConfigError.self) {
            try AgentSettings.resolve(flags: flags, file: yaml, environment: Self.token)
        }
        #expect(fromFlag?.message.hasPrefix("flag --hub-ca: hub_ca: ") == true)
        #expect(fromFlag?.message.contains(missing) == true)
    }

    @Test("a pin that is no SHA-256 names the environment variable it came from")
    func badPin() {
        let environment = Self.token.merging([
            "OUTPOST_AGENT_HUB": "https://hub.internal:8443", "OUTPOST_AGENT_HUB_CERT_SHA256": "abc",
        ]) { $1 }
        let error = #expect(throws: ConfigError.self) {
            try AgentSettings.resolve(flags: .init(), file: nil, environment: environment)
        }
        #expect(error?.message.hasPrefix("environment variable OUTPOST_AGENT_HUB_CERT_SHA256: hub_cert_sha256: ") == true)
    }

    @Test(
        "plain http:// is refused off loopback unless insecure_http is set",
        arguments: [
            ("http://10.0.0.5:8080", nil, false), ("http://10.0.0.5:8080", "true", true),
            ("http://127.0.0.1:8080", nil, true), ("http://localhost:8080", nil, true), ("http://[::1]:8080", nil, true),
            ("https://10.0.0.5:8443", nil, true),
        ] as [(String, String?, Bool)])
    func plainHTTP(hub: String, insecure: String?, allowed: Bool) {
        var environment = Self.token.merging(["OUTPOST_AGENT_HUB": hub]) { $1 }
        if let insecure { environment["OUTPOST_AGENT_INSECURE_HTTP"] = insecure }
        do {
            let settings = try AgentSettings.resolve(flags: .init(), file: nil, environment: environment)
            #expect(allowed, "accepted \(hub)")
            #expect(settings.insecureHTTP == (insecure != nil))
        } catch {
            #expect(!allowed, "\(error)")
            #expect(error.message.contains("insecure_http"))
            #expect(error.message.contains("clear text"))
        }
    }

    @Test("the CLI's --hub-ca and OUTPOST_HUB_CA: a missing file is a usage error naming the source and the file")
    func clientOptions() throws {
        let fromFlag = #expect(throws: CLIExit.self) { try ClientOptions.trust(caFile: missing, pin: nil, environment: [:]) }
        #expect(fromFlag?.code == CLIExit.Code.usage)
        #expect(fromFlag?.message?.hasPrefix("--hub-ca: ") == true)
        #expect(fromFlag?.message?.contains(missing) == true)

        let fromEnvironment = #expect(throws: CLIExit.self) {
            try ClientOptions.trust(caFile: nil, pin: nil, environment: ["OUTPOST_HUB_CA": missing])
        }
        #expect(fromEnvironment?.message?.hasPrefix("environment variable OUTPOST_HUB_CA: ") == true)

        let path = try caFile()
        let trust = try ClientOptions.trust(caFile: path, pin: nil, environment: ["OUTPOST_HUB_CERT_SHA256": String(repeating: "0", count: 64)])
        #expect(trust.pin != nil)
        #expect(trust.roots != .system)
    }
}
