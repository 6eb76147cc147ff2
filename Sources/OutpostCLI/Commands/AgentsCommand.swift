import ArgumentParser
import Foundation
import OutpostClient
import OutpostCore

/// `outpost agents`: the fleet as the hub sees it.
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "List agents connected to the hub.",
        subcommands: [List.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List agents (the default).")

        @Flag(help: "Include offline agents.")
        var all = false

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let agents = try await withHub { () async throws(ClientError) in try await hub.listAgents(includeOffline: all) }
            if json { return try Output.json(ListResponse(items: agents)) }
            Output.table(
                header: ["NAME", "TYPE", "TAGS", "STATUS", "RUNNING", "VERSION", "LAST SEEN"],
                rows: agents.map {
                    [
                        $0.name, $0.type, $0.tags.isEmpty ? "-" : $0.tags.description, $0.status.rawValue,
                        "\($0.runningTasks)/\($0.concurrency)", $0.version, Output.time($0.lastSeenAt),
                    ]
                })
        }
    }
}

/// `outpost agent-type ...`: pools of agents and their registration tokens.
struct AgentTypeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-type",
        abstract: "Create and list agent types and rotate their registration tokens.",
        discussion: """
            Agents register with their type's registration token (outpost agent start --token ...). \
            The hub stores only a hash of it: it is shown once, when created or rotated.
            """,
        subcommands: [Create.self, List.self, RotateToken.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an agent type; prints its registration token on the last line.")

        @Argument(help: "Name of the agent type.")
        var name: String

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            do { try Names.validateResourceName(name, kind: "agent type") } catch { throw CLIExit.usage(error.message) }
            let hub = try client.makeClient()
            let created = try await withHub { () async throws(ClientError) in try await hub.createAgentType(named: name) }
            if json { return try Output.json(created) }
            Output.line("created agent type \(created.agentType.name); its registration token (shown only now):")
            Output.line(created.registrationToken)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List agent types.")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let types = try await withHub { () async throws(ClientError) in try await hub.listAgentTypes() }
            if json { return try Output.json(ListResponse(items: types)) }
            Output.table(
                header: ["NAME", "CREATED", "TOKEN ISSUED"],
                rows: types.map { [$0.name, Output.time($0.createdAt), Output.time($0.tokenRotatedAt)] })
        }
    }

    struct RotateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token",
            abstract: "Issue a new registration token; the old one stops working at once.",
            discussion: "Agents already registered keep their sessions.")

        @Argument var name: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let rotated = try await withHub { () async throws(ClientError) in try await hub.rotateAgentTypeToken(named: name) }
            Output.line("new registration token for \(rotated.agentType.name) (shown only now):")
            Output.line(rotated.registrationToken)
        }
    }
}
