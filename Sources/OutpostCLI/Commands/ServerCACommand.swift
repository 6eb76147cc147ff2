import ArgumentParser
import Foundation
import OutpostClient
import OutpostCore

/// `outpost server ca`: the CA that signs agents' client certificates.
struct ServerCACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "The hub's CA for agents' client certificates (agent types with --require-client-cert).",
        discussion: """
            The hub makes its agent CA on the first start with TLS, in DATA_DIR/ca (ca.key mode 0600). \
            Agents of types created with --require-client-cert send a certificate signing request when \
            they register and get a short-lived certificate (agent_cert_lifetime, 24h by default) that \
            they renew at two thirds of its lifetime.
            """,
        subcommands: [Status.self, Rotate.self],
        defaultSubcommand: Status.self
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the current CA and, during a rotation, the previous one.")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let status = try await withHub { () async throws(ClientError) in try await hub.agentCA() }
            if json { return try Output.json(status) }
            ServerCACommand.print(status)
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a CA rotation: a new CA signs from now on; the old one stays trusted for one certificate lifetime.",
            discussion: """
                Live agents move to the new CA when they next renew (at two thirds of their \
                certificate's lifetime), without interruption. The previous CA is dropped once every \
                certificate it signed has expired. Needs an admin token.
                """)

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let status = try await withHub { () async throws(ClientError) in try await hub.rotateAgentCA() }
            if json { return try Output.json(status) }
            Output.line("rotated the agent CA")
            ServerCACommand.print(status)
        }
    }

    static func print(_ status: AgentCAStatus) {
        let format = ISO8601DateFormatter()
        Output.line("current:  \(status.current.subject) (valid until \(format.string(from: status.current.notValidAfter)))")
        if let previous = status.previous, let until = previous.trustedUntil {
            Output.line("previous: \(previous.subject) (still trusted until \(format.string(from: until)))")
        }
        Output.line("agent certificates live \(Int(status.certificateLifetimeSeconds)) s and are renewed at two thirds of that")
    }
}
