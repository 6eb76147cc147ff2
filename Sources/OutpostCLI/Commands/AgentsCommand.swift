import ArgumentParser
import Foundation
import OutpostClient
import OutpostCore

/// `outpost agents`: the fleet as the hub sees it.
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "List agents connected to the hub, or drain one.",
        subcommands: [List.self, Drain.self],
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
                header: ["NAME", "TYPE", "TAGS", "STATUS", "RUNNING", "SIGNED TASKS", "VERSION", "LAST SEEN"],
                rows: agents.map {
                    [
                        $0.name, $0.type, $0.tags.isEmpty ? "-" : $0.tags.description, $0.status.rawValue,
                        "\($0.runningTasks)/\($0.concurrency)", $0.signedTasks.rawValue, $0.version,
                        Output.time($0.lastSeenAt),
                    ]
                })
        }
    }
}

extension AgentsCommand {
    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drain an agent: it finishes its running tasks, takes no new ones, then exits 0.",
            discussion: """
                The hub stops handing the agent work at once and, when its last task is done, tells it \
                to disconnect; the agent deregisters and exits 0. Use it to scale in without cutting \
                tasks short. The agent shows as `draining` until then.
                """)

        @Argument(help: "Name of the agent (outpost agents lists them).")
        var name: String

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let agent = try await withHub { () async throws(ClientError) in try await hub.drainAgent(named: name) }
            if json { return try Output.json(agent) }
            Output.line(
                "draining \(agent.name): \(agent.runningTasks) running task(s) will finish; it then deregisters and exits")
        }
    }
}

/// `outpost agent-type ...`: pools of agents and their registration tokens.
struct AgentTypeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-type",
        abstract: "Create and list agent types, rotate or revoke their registration tokens.",
        discussion: """
            Agents register with their type's registration token (outpost agent start --token ...). \
            The hub stores only a hash of it: it is shown once, when created or rotated.

            A type also sets which tags its agents may carry (--allowed-tags; none by default), \
            how its agents are named (--name-policy), how long a disconnected agent's name stays \
            reserved (--name-release) and whether only one agent may hold a tag set (--exclusive).
            """,
        subcommands: [Create.self, List.self, Update.self, RotateToken.self, RevokeToken.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an agent type; prints its registration token on the last line.",
            discussion: """
                Name policies:
                  agent    the agent's --name, or a random readable name (default)
                  aws-sts  the hub names the agent after its AWS identity: the agent signs an STS \
                GetCallerIdentity request with its AWS credentials, the hub sends it to --sts-endpoint \
                (and nowhere else), admits only callers of --aws-account-id (and, with --aws-role, \
                only those roles), and names the agent after the role session (e.g. the EC2 instance id).

                Allowed tags: an agent registering with any tag outside --allowed-tags is refused \
                (403), so a pool's registration token cannot buy another pool's work. Give exact tags \
                or globs where * is any run of characters (quote them for the shell); '*' allows \
                every tag. Without the flag the type's agents may carry no tags at all.

                Examples:
                  outpost agent-type create prod-eu --allowed-tags prod,eu,'team-*'
                  outpost agent-type create prod-pool --allowed-tags prod --exclusive --name-release 10m
                  outpost agent-type create ec2-fleet --name-policy aws-sts --aws-account-id 123456789012 \
                    --aws-role outpost-agent --sts-endpoint https://sts.eu-west-1.amazonaws.com
                """)

        @Argument(help: "Name of the agent type.")
        var name: String

        @Option(name: .customLong("name-policy"), help: "How agents get their names: agent (default) or aws-sts.")
        var namePolicy: String = "agent"

        @Option(name: .customLong("aws-account-id"), help: "aws-sts: the 12-digit AWS account agents must belong to.")
        var awsAccountID: String?

        @Option(
            name: .customLong("aws-role"),
            help: "aws-sts: an IAM role name agents may assume (repeat for several; default: any caller of the account).")
        var awsRoles: [String] = []

        @Option(
            name: .customLong("sts-endpoint"),
            help: "aws-sts: the STS endpoint the hub checks identities at (default https://sts.amazonaws.com).")
        var stsEndpoint: String?

        @Option(
            name: .customLong("name-release"),
            help: "When a disconnected agent's name is free again: immediate (default) or after a duration such as 10m.")
        var nameRelease: String = "immediate"

        @Flag(help: "Only one online agent of this type may hold a given tag set.")
        var exclusive = false

        @Flag(
            name: .customLong("require-client-cert"),
            help: ArgumentHelp(
                "Its agents get a short-lived certificate from the hub's CA when they register (their key never leaves them) and must present it on every later call: a stolen agent token alone is refused. Needs a hub serving HTTPS."))
        var requireClientCert = false

        @Option(
            name: .customLong("allowed-tags"),
            help: "Comma-separated tags or * globs its agents may carry (default: none; '*' allows any).")
        var allowedTags: String?

        @Option(
            name: .customLong("signed-tasks"),
            help: ArgumentHelp(
                "Ask its agents to enforce signed tasks: off (default), warn or require. A hint: each agent enforces the stricter of this and its own require_signed_tasks, with its own keys.",
                valueName: "mode"))
        var signedTasks: String?

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let request = try makeRequest()
            let hub = try client.makeClient()
            let created = try await withHub { () async throws(ClientError) in try await hub.createAgentType(request) }
            if json { return try Output.json(created) }
            let allowed = created.agentType.allowedTags
            Output.line(
                allowed.isEmpty
                    ? "its agents may carry no tags (outpost agent-type set \(created.agentType.name) --allowed-tags ... allows some)"
                    : "its agents may carry tags matching \(allowed.map(\.pattern).joined(separator: ","))")
            if created.agentType.signedTasks != .off {
                Output.line("its agents are asked to enforce signed tasks: \(created.agentType.signedTasks.rawValue)")
            }
            if created.agentType.requireClientCertificate {
                Output.line("its agents must present a client certificate the hub issues them at registration (mutual TLS)")
            }
            Output.line("created agent type \(created.agentType.name); its registration token (shown only now):")
            Output.line(created.registrationToken)
        }

        /// The flags as an API request; a bad combination is a usage error (exit 2).
        func makeRequest() throws -> CreateAgentTypeRequest {
            do { try Names.validateResourceName(name, kind: "agent type") } catch { throw CLIExit.usage(error.message) }
            guard let policy = AgentType.NamePolicy(rawValue: namePolicy) else {
                throw CLIExit.usage("--name-policy must be agent or aws-sts, not \"\(namePolicy)\"")
            }
            var request = CreateAgentTypeRequest(name: name, namePolicy: policy, exclusive: exclusive)
            if requireClientCert { request.requireClientCertificate = true }
            if let allowedTags { request.allowedTags = try AgentTypeCommand.patterns(allowedTags) }
            request.signedTasks = try signedTasks.map(AgentTypeCommand.signedTaskMode)
            if nameRelease != "immediate" {
                do {
                    request.nameReleaseSeconds = try DurationParser.seconds(nameRelease)
                } catch {
                    throw CLIExit.usage("--name-release: \(error.message) (or use immediate)")
                }
            }
            switch policy {
            case .agent:
                guard awsAccountID == nil, awsRoles.isEmpty, stsEndpoint == nil else {
                    throw CLIExit.usage("--aws-account-id, --aws-role and --sts-endpoint need --name-policy aws-sts")
                }
            case .awsSTS:
                guard let awsAccountID else {
                    throw CLIExit.usage("--name-policy aws-sts needs --aws-account-id (the account agents belong to)")
                }
                request.aws = AWSNamingRules(
                    accountID: awsAccountID, allowedRoles: awsRoles,
                    stsEndpoint: stsEndpoint ?? AWSNamingRules.defaultSTSEndpoint)
            }
            return request
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
                header: ["NAME", "ALLOWED TAGS", "NAME POLICY", "EXCLUSIVE", "NAME RELEASE", "SIGNED TASKS", "TOKEN", "TOKEN ISSUED"],
                rows: types.map {
                    [
                        $0.name, $0.allowedTags.isEmpty ? "-" : $0.allowedTags.map(\.pattern).joined(separator: ","),
                        $0.namePolicy.rawValue + ($0.aws.map { " (\($0.accountID))" } ?? ""),
                        $0.exclusive ? "yes" : "no",
                        $0.nameReleaseSeconds > 0 ? DurationParser.format($0.nameReleaseSeconds) : "immediate",
                        $0.signedTasks.rawValue, $0.tokenRevoked ? "revoked" : "active", Output.time($0.tokenRotatedAt),
                    ]
                })
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change an agent type: which tags its agents may carry, the signed-task mode it asks for.",
            discussion: """
                --allowed-tags replaces the whole list ('' allows no tags, '*' every tag). It applies \
                at once: online agents of the type with a tag the new list does not allow are \
                drained (they finish their running tasks, take no new ones, then exit), and every \
                later registration is checked.

                --signed-tasks (off, warn, require) reaches each agent of the type when it next \
                registers; an agent enforces the stricter of it and its own require_signed_tasks.

                Examples:
                  outpost agent-type set prod-eu --allowed-tags prod,eu,'team-*'
                  outpost agent-type set prod-eu --signed-tasks require
                """)

        @Argument(help: "Name of the agent type.")
        var name: String

        @Option(
            name: .customLong("allowed-tags"),
            help: "Comma-separated tags or * globs its agents may carry ('' for none, '*' for any).")
        var allowedTags: String?

        @Option(
            name: .customLong("signed-tasks"),
            help: ArgumentHelp("The signed-task mode its agents are asked to enforce: off, warn or require.", valueName: "mode"))
        var signedTasks: String?

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            guard allowedTags != nil || signedTasks != nil else {
                throw CLIExit.usage("nothing to change: give --allowed-tags and/or --signed-tasks")
            }
            let request = UpdateAgentTypeRequest(
                allowedTags: try allowedTags.map(AgentTypeCommand.patterns),
                signedTasks: try signedTasks.map(AgentTypeCommand.signedTaskMode))
            let hub = try client.makeClient()
            let type = try await withHub { () async throws(ClientError) in try await hub.updateAgentType(named: name, request) }
            if json { return try Output.json(type) }
            let allowed = type.allowedTags.map(\.pattern).joined(separator: ",")
            Output.line(
                "agent type \(type.name) now allows \(allowed.isEmpty ? "no tags" : "tags matching \(allowed)"); "
                    + "signed tasks: \(type.signedTasks.rawValue)")
        }
    }

    /// `--signed-tasks`: off, warn or require.
    static func signedTaskMode(_ text: String) throws -> SignedTaskMode {
        guard let mode = SignedTaskMode(rawValue: text.lowercased()) else {
            throw CLIExit.usage("--signed-tasks: must be off, warn or require, not \"\(text)\"")
        }
        return mode
    }

    /// `--allowed-tags` checked before any network call; a bad entry is a usage error (exit 2).
    static func patterns(_ text: String) throws -> [String] {
        do {
            return try [TagPattern](commaSeparated: text).map(\.pattern)
        } catch {
            throw CLIExit.usage("--allowed-tags: \(error.message)")
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

    struct RevokeToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-token",
            abstract: "Revoke the registration token: no agent can register with this type until rotate-token.",
            discussion: "Agents already registered keep their sessions; drain them to take them out.")

        @Argument var name: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let hub = try client.makeClient()
            let type = try await withHub { () async throws(ClientError) in try await hub.revokeAgentTypeToken(named: name) }
            Output.line(
                "revoked the registration token of \(type.name); `outpost agent-type rotate-token \(type.name)` issues a new one")
        }
    }
}
