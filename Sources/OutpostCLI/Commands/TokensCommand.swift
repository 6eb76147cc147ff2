import ArgumentParser
import Foundation
import OutpostClient
import OutpostCore

/// `outpost tokens ...`: named API tokens and their roles.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list, rotate and revoke named API tokens.",
        discussion: """
            Every client command authenticates with an API token (OUTPOST_TOKEN or --token). \
            Each token has a name, recorded as the created_by of the tasks it submits, and a role:
              reader    read-only: targets, tasks and their logs, agents, agent types
              operator  a reader who also runs and cancels tasks, drains agents and lists an \
            agent's secret names
              admin     everything: targets, agent types, API tokens

            The hub keeps only a hash: a token is shown once, when created or rotated. The first \
            admin token (printed by outpost server at its first start, named admin) is rotated \
            like any other: outpost tokens rotate admin. The last admin token cannot be revoked.
            """,
        subcommands: [Create.self, List.self, Rotate.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a named API token; prints it on the last line (shown only now).",
            discussion: """
                Examples:
                  outpost tokens create ci-deploy --role operator
                  outpost tokens create dashboard --role reader
                """)

        @Argument(help: "Unique name (letters, digits, '.', '_', '-'); shown as created_by of its tasks.")
        var name: String

        @Option(help: "reader, operator or admin.")
        var role: String

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let request = try makeRequest()
            let hub = try client.makeClient()
            let created = try await withHub { () async throws(ClientError) in try await hub.createAPIToken(request) }
            if json { return try Output.json(created) }
            Output.line("created API token \(created.apiToken.name) (\(created.apiToken.role.rawValue)); the token (shown only now):")
            Output.line(created.token)
        }

        /// The arguments as an API request; a bad one is a usage error (exit 2).
        func makeRequest() throws -> CreateAPITokenRequest {
            do { try Names.validateResourceName(name, kind: "API token") } catch { throw CLIExit.usage(error.message) }
            guard let parsed = APIRole(rawValue: role) else {
                let roles = APIRole.allCases.map(\.rawValue).joined(separator: ", ")
                throw CLIExit.usage("--role must be one of \(roles), not \"\(role)\"")
            }
            return CreateAPITokenRequest(name: name, role: parsed)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API tokens: names, roles, created, last used (never the tokens).")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let tokens = try await withHub { () async throws(ClientError) in try await hub.listAPITokens() }
            if json { return try Output.json(ListResponse(items: tokens)) }
            Output.table(
                header: ["NAME", "ROLE", "CREATED", "LAST USED"],
                rows: tokens.map {
                    [$0.name, $0.role.rawValue, Output.time($0.createdAt), $0.lastUsedAt.map(Output.time) ?? "never"]
                })
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a new token under the same name and role; the old one stops working at once.",
            discussion: """
                Prints the new token on the last line. Rotating the token you are using ends \
                your access with it: switch OUTPOST_TOKEN to the new one. DATA_DIR/admin-token \
                keeps the first admin token as issued; after rotating admin, delete that file.
                """)

        @Argument(help: "Name of the token (outpost tokens list shows them).")
        var name: String

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let rotated = try await withHub { () async throws(ClientError) in try await hub.rotateAPIToken(named: name) }
            if json { return try Output.json(rotated) }
            Output.line("new token for \(rotated.apiToken.name) (\(rotated.apiToken.role.rawValue)); the old one no longer works (shown only now):")
            Output.line(rotated.token)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token: it stops working at once.",
            discussion: "The last admin token cannot be revoked; create another admin token first.")

        @Argument(help: "Name of the token (outpost tokens list shows them).")
        var name: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            try await withHub { () async throws(ClientError) in try await hub.revokeAPIToken(named: name) }
            Output.line("revoked API token \(name)")
        }
    }
}
