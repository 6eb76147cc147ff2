package import ArgumentParser
import Foundation
import OutpostCore

/// The root of the `outpost` command line.
package struct OutpostCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "outpost",
        abstract: "Run operational tasks on agents inside your own infrastructure.",
        discussion: """
            Start here:
              outpost dev                          hub + one local agent on SQLite (prints OUTPOST_HUB/OUTPOST_TOKEN)
              outpost task run local --script 'echo hello'

            Production: run `outpost server` once, create an agent type, and start `outpost agent start` \
            next to your systems. Client commands read OUTPOST_HUB and OUTPOST_TOKEN.
            """,
        version: OutpostVersion.current,
        subcommands: [
            DevCommand.self, ServerCommand.self, AgentCommand.self, TargetCommand.self, TaskCommand.self,
            AgentsCommand.self, AgentTypeCommand.self, SecretsCommand.self, IntegrationsCommand.self,
            TokensCommand.self, KeysCommand.self,
        ]
    )

    package init() {}
}

/// The process entry point: parses, runs, and maps every outcome to an exit code.
package enum OutpostCLI {
    package static func main(arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        LogSetup.bootstrap()
        do {
            var command = try OutpostCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit(0)
        } catch let exitRequest as CLIExit {
            if let message = exitRequest.message { Output.error("outpost: \(message)") }
            exit(exitRequest.code)
        } catch let error as ConfigError {
            Output.error("outpost: \(error.message)")
            exit(CLIExit.Code.usage)
        } catch {
            let code = OutpostCommand.exitCode(for: error)
            let message = OutpostCommand.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Output.line(message) }
                exit(0)
            }
            if !message.isEmpty { Output.error(message) }
            // Usage errors exit 2 (ArgumentParser's own default is 64).
            exit(code == .validationFailure ? CLIExit.Code.usage : code.rawValue)
        }
    }
}
