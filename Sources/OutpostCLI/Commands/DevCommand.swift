import ArgumentParser
import Foundation
import Logging
import OutpostAgent
import OutpostCore
import OutpostHub
import OutpostSecrets
import ServiceLifecycle

/// `outpost dev`: the hub and one local agent in one process, for trying Outpost.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a hub and one local agent in one process, on SQLite: the zero-config demo.",
        discussion: """
            Creates the untagged target `local` (bash) if it is absent, prints exactly two lines, \
            OUTPOST_HUB=... and OUTPOST_TOKEN=..., and writes them to DATA_DIR/env:

              swift run outpost dev
              export $(cat outpost-data/env)
              outpost task run local --script 'echo hello'

            The web console is at OUTPOST_HUB in a browser: sign in with OUTPOST_TOKEN.

            The agent works in DATA_DIR/agent. SIGTERM or Ctrl-C stops both gracefully.

            Tasks run as children of this process, which holds the admin token: the process is \
            non-dumpable (no task can read its environment or memory through /proc) and the \
            admin token is masked in every task's log, also when a task reads DATA_DIR/env.
            """
    )

    @OptionGroup var options: HubOptions

    func run() async throws {
        do {
            try ProcessHardening.makeNonDumpable()
        } catch {
            throw CLIExit(code: CLIExit.Code.failure, message: error.message)
        }
        let settings = try options.settings()
        guard settings.tls == nil else {
            throw CLIExit.usage("outpost dev serves plain HTTP on loopback for its local agent; run `outpost server` for HTTPS")
        }
        guard settings.database == nil else {
            throw CLIExit.usage("outpost dev keeps its data in SQLite in --data-dir; run `outpost server --database` for PostgreSQL")
        }
        let logger = LogSetup.logger("outpost.dev")
        let runtime = try await HubLauncher.start(settings, logger: logger)
        let adminToken = try runtime.firstStartAdminToken ?? Self.readAdminToken(in: settings.dataDirectory)
        let registrationToken: String
        do {
            registrationToken = try await runtime.ensureAgentType(named: "local")
            try await runtime.ensureTarget(Target(name: "local", integration: "bash"))
        } catch {
            throw CLIExit(code: CLIExit.Code.failure, message: "cannot prepare the local agent: \(error)")
        }
        let dataDirectory = settings.dataDirectory
        try await HubLauncher.run(runtime, logger: logger) { address, group in
            let host = address.host == "0.0.0.0" || address.host == "::" ? "127.0.0.1" : address.host
            let url = "http://\(host):\(address.port)"
            var agent = AgentConfiguration(hubURLs: [url], registrationToken: registrationToken)
            agent.name = "local-agent"
            agent.workDirectory = dataDirectory + "/agent"
            agent.adoptsOrphans = true
            agent.maskedValues = [NamedSecretValue(name: "the hub's admin token", value: adminToken)]
            // A drained agent (the console's Drain button) deregisters and returns: the hub
            // stays up, as it does for agents elsewhere; a failing agent still stops dev.
            await group.addServiceUnlessShutdown(
                .init(
                    service: AgentDaemon(configuration: agent, logger: LogSetup.logger("outpost.agent")),
                    successTerminationBehavior: .ignore))
            let lines = "OUTPOST_HUB=\(url)\nOUTPOST_TOKEN=\(adminToken)\n"
            try Self.writeEnvFile(lines, in: dataDirectory)
            Output.raw(Array(lines.utf8))
            logger.notice("web console ready: open it and sign in with OUTPOST_TOKEN", metadata: ["url": "\(url)/"])
        }
    }

    static func readAdminToken(in directory: String) throws -> String {
        let path = directory + "/admin-token"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CLIExit(
                code: CLIExit.Code.failure,
                message: "the hub's database exists but \(path) is missing; create a token with the API or start with an empty --data-dir")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func writeEnvFile(_ text: String, in directory: String) throws {
        let path = directory + "/env"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw CLIExit(code: CLIExit.Code.failure, message: "cannot write \(path)")
        }
    }
}
