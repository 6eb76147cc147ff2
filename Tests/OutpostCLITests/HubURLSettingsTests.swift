import OutpostAgent
import OutpostCore
import Testing

@testable import OutpostCLI

/// The agent's `hub` key: one URL or several replicas of one hub, from repeated
/// `--hub` flags, a YAML list, or comma-separated text; each checked, and a bad one
/// named with the key and where it was set.
@Suite("Agent hub URLs")
struct HubURLSettingsTests {
    static let token = ["OUTPOST_AGENT_TOKEN": "oprt_t"]
    static let replicas = ["https://hub-1.internal:8443", "https://hub-2.internal:8443", "https://hub-3.internal:8443"]

    @Test("repeated --hub flags, a YAML list, a comma-separated YAML string and OUTPOST_AGENT_HUB all give the URLs in order")
    func everySourceGivesTheList() throws {
        var flags = AgentSettings.Flags()
        flags.hub = Self.replicas
        let fromFlags = try AgentSettings.resolve(flags: flags, file: nil, environment: Self.token)

        let list = try ConfigFile.parse(
            "hub:\n" + Self.replicas.map { "  - \($0)\n" }.joined() + "token: t\n", path: "agent.yaml")
        let fromList = try AgentSettings.resolve(flags: .init(), file: list, environment: [:])

        let text = try ConfigFile.parse("hub: \(Self.replicas.joined(separator: ", "))\ntoken: t\n", path: "agent.yaml")
        let fromText = try AgentSettings.resolve(flags: .init(), file: text, environment: [:])

        let fromEnvironment = try AgentSettings.resolve(
            flags: .init(), file: nil,
            environment: Self.token.merging(["OUTPOST_AGENT_HUB": Self.replicas.joined(separator: ",")]) { $1 })

        for settings in [fromFlags, fromList, fromText, fromEnvironment] {
            #expect(settings.hubURLs == Self.replicas)
            #expect(try settings.agentConfiguration().hubURLs == Self.replicas)
        }
    }

    @Test("flags replace the environment's list, which replaces the file's")
    func precedence() throws {
        let file = try ConfigFile.parse("hub: [https://file-1:1, https://file-2:1]\ntoken: t\n", path: "agent.yaml")
        let environment = ["OUTPOST_AGENT_HUB": "https://env-1:1,https://env-2:1"]
        #expect(try AgentSettings.resolve(flags: .init(), file: file, environment: [:]).hubURLs == ["https://file-1:1", "https://file-2:1"])
        #expect(try AgentSettings.resolve(flags: .init(), file: file, environment: environment).hubURLs == ["https://env-1:1", "https://env-2:1"])
        var flags = AgentSettings.Flags()
        flags.hub = ["https://flag:1"]
        #expect(try AgentSettings.resolve(flags: flags, file: file, environment: environment).hubURLs == ["https://flag:1"])
    }

    @Test(
        "a bad URL in the list is refused naming the key, where it was set, and the URL",
        arguments: [
            ("hub: [https://a:1, https://A:1/]\ntoken: t\n", [String: String](), "agent.yaml:1: hub: \"https://A:1/\" is listed twice"),
            ("hub: [https://a:1, ftp://b]\ntoken: t\n", [:], "agent.yaml:1: hub: \"ftp://b\" is not an http:// or https:// URL"),
            ("hub: \"https://a:1,,https://b:1\"\ntoken: t\n", [:], "agent.yaml:1: hub: an empty URL"),
            ("token: t\n", ["OUTPOST_AGENT_HUB": "https://a:1,https://a:1"],
             "environment variable OUTPOST_AGENT_HUB: hub: \"https://a:1\" is listed twice"),
            ("token: t\n", ["OUTPOST_AGENT_HUB": "http://127.0.0.1:1,http://10.0.0.5:1"],
             "environment variable OUTPOST_AGENT_HUB: hub: plain http:// to 10.0.0.5"),
            ("token: t\n", [:], "hub: required"),
        ])
    func badURLs(yaml: String, environment: [String: String], expected: String) throws {
        let file = try ConfigFile.parse(yaml, path: "agent.yaml")
        let error = #expect(throws: ConfigError.self) {
            try AgentSettings.resolve(flags: .init(), file: file, environment: environment)
        }
        #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "no error")")
    }

    @Test("a repeated --hub flag is named as the flag")
    func duplicateFlag() {
        var flags = AgentSettings.Flags()
        flags.hub = ["https://a:1", "https://b:1", "https://a:1"]
        let error = #expect(throws: ConfigError.self) {
            try AgentSettings.resolve(flags: flags, file: nil, environment: Self.token)
        }
        #expect(error?.message == "flag --hub: hub: \"https://a:1\" is listed twice; list each replica of the hub once")
    }

    @Test("insecure_http admits plain http:// replicas off loopback")
    func trustAppliesToEveryURL() throws {
        let environment = Self.token.merging([
            "OUTPOST_AGENT_HUB": "http://10.0.0.5:8080,http://10.0.0.6:8080", "OUTPOST_AGENT_INSECURE_HTTP": "true",
        ]) { $1 }
        let settings = try AgentSettings.resolve(flags: .init(), file: nil, environment: environment)
        let configuration = try settings.agentConfiguration()
        #expect(configuration.hubURLs == ["http://10.0.0.5:8080", "http://10.0.0.6:8080"])
        #expect(configuration.insecureHTTP)
        try configuration.validate()
    }
}
