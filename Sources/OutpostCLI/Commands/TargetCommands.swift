import ArgumentParser
import Foundation
import OutpostClient
import OutpostCore

/// `outpost target ...`: what tasks run against.
struct TargetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "target",
        abstract: "Create, list, show and delete targets.",
        discussion: """
            A target names an integration (how a script runs: bash, sh, python, node), routing \
            tags (only agents carrying every tag run it; an untagged target runs only on untagged \
            agents), optionally the agent types it is pinned to (--agent-type: only their agents \
            run it), and environment variables for its tasks. It holds no secret values.
            """,
        subcommands: [Create.self, List.self, Get.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a target.",
            discussion: """
                Examples:
                  outpost target create web-prod --integration bash --tags prod,web --env REGION=eu-west-1 --timeout 5m
                  outpost target create orders-db --tags prod --agent-type prod-eu --agent-type prod-us
                  outpost target create billing-db --integration bash --tags prod \\
                    --secret aws:prod/billing-db --map PGHOST=host --map PGPASSWORD=password \\
                    --env API_TOKEN=secret:vault:apps/billing#token

                Secrets never reach the hub: it stores only provider names, paths and key names. \
                The agent resolves them from its own providers (see docs/secrets.md).
                """
        )

        @Argument(help: "Unique name (letters, digits, '.', '_', '-').")
        var name: String

        @Option(help: "How scripts run: bash, sh, python, node.")
        var integration: String = "bash"

        @Option(help: "Comma-separated routing tags, e.g. prod,eu.")
        var tags: String = ""

        @Option(
            name: .customLong("agent-type"),
            help: ArgumentHelp(
                "Pin the target to an agent type: only its agents run the target's tasks (repeatable; the tags still apply).",
                valueName: "type"))
        var agentTypes: [String] = []

        @Option(name: .customLong("env"), help: ArgumentHelp("An environment variable for every task, K=V (repeatable).", valueName: "K=V"))
        var env: [String] = []

        @Option(help: ArgumentHelp(
            "A secret resolved by the agent right before each run, PROVIDER:PATH (repeatable); every key of a JSON secret becomes a variable unless --map follows.",
            valueName: "provider:path"))
        var secret: [String] = []

        @Option(help: ArgumentHelp(
            "After --secret: put the secret's KEY into variable ENV (ENV=KEY), or the whole single-value secret (ENV) (repeatable).",
            valueName: "ENV=KEY"))
        var map: [String] = []

        @Option(help: "Default timeout of this target's tasks, e.g. 60s, 5m, 1h.")
        var timeout: String?

        @Flag(help: "Print the created target as JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let target = try makeTarget(arguments: Array(CommandLine.arguments.dropFirst()))
            let hub = try client.makeClient()
            let created = try await withHub { () async throws(ClientError) in try await hub.createTarget(target) }
            if json { try Output.json(created) } else { Output.line("created target \(created.name)") }
        }

        /// `arguments` are the raw command-line arguments: `--map` flags belong to the
        /// `--secret` before them, an order ArgumentParser does not keep.
        func makeTarget(arguments: [String]) throws -> Target {
            do {
                try Names.validateResourceName(name, kind: "target")
                let tagSet = TagSet(commaSeparated: tags)
                for tag in tagSet.tags { try Names.validateTag(tag) }
                for type in agentTypes { try Names.validateResourceName(type, kind: "agent type") }
                var environment: [String: String] = [:]
                var references = try SecretReferenceSyntax.references(fromArguments: arguments)
                if references.count != secret.count {
                    // Not parsed from this process's own arguments (a test): no --map grouping.
                    references = try secret.map(SecretReferenceSyntax.reference)
                }
                for pair in env {
                    guard let eq = pair.firstIndex(of: "=") else {
                        throw CLIExit.usage("--env \"\(pair)\": expected NAME=VALUE")
                    }
                    let key = String(pair[..<eq])
                    try Names.validateEnvironmentName(key)
                    let value = String(pair[pair.index(after: eq)...])
                    if let reference = try SecretReferenceSyntax.environmentReference(variable: key, value: value) {
                        references.append(reference)
                    } else {
                        environment[key] = value
                    }
                }
                var timeoutSeconds: Int? = nil
                if let timeout {
                    timeoutSeconds = Int(try DurationParser.seconds(timeout).rounded(.up))
                }
                return Target(
                    name: name, integration: integration, tags: tagSet, agentTypes: agentTypes, env: environment,
                    secrets: references,
                    timeoutSeconds: timeoutSeconds)
            } catch let error as OutpostCore.ValidationError {
                throw CLIExit.usage(error.message)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List targets.")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let targets = try await withHub { () async throws(ClientError) in try await hub.listTargets() }
            if json { return try Output.json(ListResponse(items: targets)) }
            Output.table(
                header: ["NAME", "INTEGRATION", "TAGS", "AGENT TYPES", "TIMEOUT", "ENV", "SECRETS"],
                rows: targets.map {
                    [
                        $0.name, $0.integration, $0.tags.isEmpty ? "-" : $0.tags.description,
                        $0.agentTypes.isEmpty ? "any" : $0.agentTypes.joined(separator: ","),
                        $0.timeoutSeconds.map { DurationParser.format(Double($0)) } ?? "-",
                        $0.env.keys.sorted().joined(separator: ","),
                        $0.secrets.map { "\($0.provider):\($0.path)" }.joined(separator: ","),
                    ]
                })
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one target.")

        @Argument var name: String

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let target = try await withHub { () async throws(ClientError) in try await hub.target(named: name) }
            if json { return try Output.json(target) }
            Output.line("name:         \(target.name)")
            Output.line("integration:  \(target.integration)")
            Output.line("tags:         \(target.tags.isEmpty ? "-" : target.tags.description)")
            Output.line("agent types:  \(target.agentTypes.isEmpty ? "any" : target.agentTypes.joined(separator: ","))")
            Output.line("timeout:      \(target.timeoutSeconds.map { DurationParser.format(Double($0)) } ?? "hub default")")
            for key in target.env.keys.sorted() { Output.line("env:          \(key)=\(target.env[key]!)") }
            for reference in target.secrets {
                let mapping = reference.mapping.keys.sorted().map { variable in
                    let key = reference.mapping[variable]!
                    return key.isEmpty ? variable : "\(variable)=\(key)"
                }
                Output.line(
                    "secret:       \(reference.provider):\(reference.path)"
                        + (mapping.isEmpty ? " (every key)" : " → \(mapping.joined(separator: ", "))"))
            }
            Output.line("created:      \(Output.time(target.createdAt))")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a target.", discussion: "Tasks already submitted keep running and keep their history.")

        @Argument var name: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            try await withHub { () async throws(ClientError) in try await hub.deleteTarget(named: name) }
            Output.line("deleted target \(name)")
        }
    }
}
