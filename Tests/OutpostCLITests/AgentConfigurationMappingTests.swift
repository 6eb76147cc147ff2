import OutpostAgent
import Testing

@testable import OutpostCLI

/// From settings to the daemon's configuration: the defaults that keep agents apart,
/// `run_as` resolution and the values to mask.
@Suite("Agent settings to configuration")
struct AgentConfigurationMappingTests {
    static let base = ["OUTPOST_AGENT_HUB": "https://h:1", "OUTPOST_AGENT_TOKEN": "oprt_t"]

    @Test("without work_dir each agent gets its own directory under ./outpost-agent; with it, exactly that directory")
    func workDirectory() throws {
        let unset = try AgentSettings.resolve(flags: .init(), file: nil, environment: Self.base).agentConfiguration()
        #expect(unset.workDirectory == "./outpost-agent")
        #expect(unset.workDirectoryPerAgent)
        let set = try AgentSettings.resolve(
            flags: .init(), file: nil, environment: Self.base.merging(["OUTPOST_AGENT_WORK_DIR": "/srv/agent"]) { $1 }
        ).agentConfiguration()
        #expect(set.workDirectory == "/srv/agent")
        #expect(!set.workDirectoryPerAgent)
    }

    @Test("run_as naming no user is a usage error (exit 2) naming run_as and the user")
    func runAsUnknownUser() throws {
        var flags = AgentSettings.Flags()
        flags.runAs = "no-such-user-outpost"
        let settings = try AgentSettings.resolve(flags: flags, file: nil, environment: Self.base)
        #expect(settings.runAs == "no-such-user-outpost")
        #expect {
            try settings.agentConfiguration()
        } throws: { error in
            guard let exit = error as? CLIExit else { return false }
            return exit.code == 2 && exit.message?.contains("run_as: no user \"no-such-user-outpost\"") == true
        }
    }

    @Test("a provider's configured token is among the values every task masks")
    func providerCredentialsMasked() throws {
        let file = try ConfigFile.parse(
            """
            hub: https://h:1
            token: oprt_t
            secrets:
              providers:
                - {name: store, type: http, store_url: "https://s/{name}", token: store-token-canary}
            """, path: "agent.yaml")
        let configuration = try AgentSettings.resolve(flags: .init(), file: file, environment: [:]).agentConfiguration()
        #expect(configuration.maskedValues.map(\.name) == ["secrets.providers[store].token"])
    }
}
