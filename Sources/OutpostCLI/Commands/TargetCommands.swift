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
            agents) and environment variables for its tasks. It holds no secret values.
            """,
        subcommands: [Create.self, List.self, Get.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a target.",
            discussion: """
                Example:
                  outpost target create web-prod --integration bash --tags prod,web --env REGION=eu-west-1 --timeout 5m
                """
        )

        @Argument(help: "Unique name (letters, digits, '.', '_', '-').")
        var name: String

        @Option(help: "How scripts run: bash, sh, python, node.")
        var integration: String = "bash"

        @Option(help: "Comma-separated routing tags, e.g. prod,eu.")
        var tags: String = ""

        @Option(name: .customLong("env"), help: ArgumentHelp("An environment variable for every task, K=V (repeatable).", valueName: "K=V"))
        var env: [String] = []

        @Option(help: "Default timeout of this target's tasks, e.g. 60s, 5m, 1h.")
        var timeout: String?

        @Flag(help: "Print the created target as JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let target = try makeTarget()
            let hub = try client.makeClient()
            let created = try await withHub { () async throws(ClientError) in try await hub.createTarget(target) }
            if json { try Output.json(created) } else { Output.line("created target \(created.name)") }
        }

        func makeTarget() throws -> Target {
            do {
                try Names.validateResourceName(name, kind: "target")
                let tagSet = TagSet(commaSeparated: tags)
                for tag in tagSet.tags { try Names.validateTag(tag) }
                var environment: [String: String] = [:]
                for pair in env {
                    guard let eq = pair.firstIndex(of: "=") else {
                        throw CLIExit.usage("--env \"\(pair)\": expected NAME=VALUE")
                    }
                    let key = String(pair[..<eq])
                    try Names.validateEnvironmentName(key)
                    environment[key] = String(pair[pair.index(after: eq)...])
                }
                var timeoutSeconds: Int? = nil
                if let timeout {
                    timeoutSeconds = Int(try DurationParser.seconds(timeout).rounded(.up))
                }
                return Target(
                    name: name, integration: integration, tags: tagSet, env: environment,
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
                header: ["NAME", "INTEGRATION", "TAGS", "TIMEOUT", "ENV"],
                rows: targets.map {
                    [
                        $0.name, $0.integration, $0.tags.isEmpty ? "-" : $0.tags.description,
                        $0.timeoutSeconds.map { DurationParser.format(Double($0)) } ?? "-",
                        $0.env.keys.sorted().joined(separator: ","),
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
            Output.line("timeout:      \(target.timeoutSeconds.map { DurationParser.format(Double($0)) } ?? "hub default")")
            for key in target.env.keys.sorted() { Output.line("env:          \(key)=\(target.env[key]!)") }
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
