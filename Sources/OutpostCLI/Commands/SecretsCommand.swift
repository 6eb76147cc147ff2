import ArgumentParser
import OutpostClient
import OutpostCore

/// `outpost secrets ...`: browse secret names on an agent, never values.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Browse secret names on an agent's providers (never values).",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List secret names an agent's providers hold.",
            discussion: """
                The hub asks the agent through its poll channel; the agent lists paths with its own \
                credentials (Vault LIST, AWS ListSecrets, Azure and GCP list calls, env variable names \
                under the provider's prefix) and returns names only.

                Examples:
                  outpost secrets ls --agent prod-eu-1             every provider
                  outpost secrets ls --agent prod-eu-1 vault       one provider
                  outpost secrets ls --agent prod-eu-1 aws:prod/   one provider, names under prod/
                """
        )

        @Option(help: "Name of the online agent to ask.")
        var agent: String

        @Argument(help: ArgumentHelp("A provider of the agent, optionally with a name prefix.", valueName: "provider[:prefix]"))
        var scope: String?

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            var provider: String?
            var prefix = ""
            if let scope {
                if let colon = scope.firstIndex(of: ":") {
                    provider = String(scope[..<colon])
                    prefix = String(scope[scope.index(after: colon)...])
                } else {
                    provider = scope
                }
                if provider?.isEmpty == true { throw CLIExit.usage("expected PROVIDER or PROVIDER:PREFIX, got \"\(scope)\"") }
            }
            let hub = try client.makeClient()
            let listing = try await withHub { () async throws(ClientError) in
                try await hub.listSecretNames(agent: agent, provider: provider, prefix: prefix)
            }
            if json { return try Output.json(listing) }
            var failed = false
            for entry in listing.entries {
                if let error = entry.error {
                    Output.error("outpost: \(error)")
                    failed = true
                }
                for name in entry.names { Output.line("\(entry.provider):\(name)") }
            }
            if failed { throw CLIExit(code: CLIExit.Code.failure) }
        }
    }
}
