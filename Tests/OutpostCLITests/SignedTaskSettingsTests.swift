import Foundation
import OutpostCore
import Testing

@testable import OutpostCLI

/// `require_signed_tasks` and `verification_keys`: from flags, environment and file,
/// and the mistakes refused before the agent starts (exit 2), naming key and line.
@Suite("Signed-task settings")
struct SignedTaskSettingsTests {
    static let base = ["OUTPOST_AGENT_HUB": "https://hub.internal:8080", "OUTPOST_AGENT_TOKEN": "oprt_x"]

    private func resolve(_ environment: [String: String] = [:], file: String? = nil) throws -> AgentSettings {
        let yaml = try file.map { try ConfigFile.parse($0, path: "agent.yaml") }
        return try AgentSettings.resolve(flags: .init(), file: yaml, environment: Self.base.merging(environment) { $1 })
    }

    private func problem(_ environment: [String: String] = [:], file: String? = nil) -> String? {
        do {
            _ = try resolve(environment, file: file)
            return nil
        } catch let error as ConfigError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("true, warn and false from the file or the environment; off by default")
    func modes() throws {
        #expect(try resolve().signedTaskMode == .off)
        let file = "hub: https://h:1\ntoken: t\nrequire_signed_tasks: true\nverification_keys: /etc/outpost/keys.json\n"
        let fromFile = try resolve(file: file)
        #expect(fromFile.signedTaskMode == .require)
        #expect(fromFile.verificationKeys == "/etc/outpost/keys.json")
        let warn = try resolve(["OUTPOST_AGENT_REQUIRE_SIGNED_TASKS": "warn", "OUTPOST_AGENT_VERIFICATION_KEYS": "https://keys.internal/jwks.json"])
        #expect(warn.signedTaskMode == .warn)
        var flags = AgentSettings.Flags()
        flags.requireSignedTasks = "false"
        #expect(try AgentSettings.resolve(flags: flags, file: nil, environment: Self.base).signedTaskMode == .off)
    }

    @Test("require without keys, an unknown mode, and keys over plain http to another host are refused")
    func mistakes() {
        #expect(problem(file: "hub: https://h:1\ntoken: t\nrequire_signed_tasks: true\n")
            == "agent.yaml:3: require_signed_tasks: needs verification_keys: the JWKS file or URL of the keys trusted to sign tasks")
        #expect(problem(["OUTPOST_AGENT_REQUIRE_SIGNED_TASKS": "maybe", "OUTPOST_AGENT_VERIFICATION_KEYS": "/k.json"])?
            .contains("must be true, false or warn, not \"maybe\"") == true)
        #expect(problem(["OUTPOST_AGENT_VERIFICATION_KEYS": "http://keys.example.com/jwks.json"])?
            .contains("is plain http: anyone on the way could swap the keys") == true)
        #expect(problem(["OUTPOST_AGENT_VERIFICATION_KEYS": "http://127.0.0.1:9000/jwks.json"]) == nil)
    }
}
