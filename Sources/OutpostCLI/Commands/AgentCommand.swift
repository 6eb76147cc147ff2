import ArgumentParser
import Foundation
import OutpostAgent
import OutpostCore
import OutpostMasking
import OutpostSecrets
import OutpostSigning
import AsyncHTTPClient
import Logging

/// `outpost agent ...`: the agent daemon.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run an agent next to the systems your tasks touch.",
        subcommands: [Start.self]
    )

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the agent daemon: register with the hub, take work, run it, report back.",
            discussion: """
                The agent dials out to the hub (no inbound port), registers with its agent type's \
                registration token, and long-polls for tasks whose target tags it carries. Each task \
                runs in a fresh directory and process group with a minimal environment.

                Settings come from flags, OUTPOST_AGENT_* environment variables and --config-file \
                (see docs/configuration.md). Bad settings exit with code 2.

                SIGTERM/SIGINT: stop taking work, finish running tasks, deregister, exit 0. \
                A second signal stops running tasks (SIGTERM, grace, SIGKILL) and exits.

                Ephemeral and autoscaled agents: --disconnect-after-job and \
                --disconnect-after-idle-timeout ask the hub to end the agent; the hub decides in a poll \
                answer (never while handing it a task), and the agent deregisters and exits 0. \
                `outpost agents drain NAME` does the same from the hub side once running tasks are done.

                Registration refusals exit non-zero with the hub's reason: a name in use or reserved, \
                an exclusive tag set held by another agent, or a secret-provider layout that differs \
                from other agents with the same tags.

                Hub TLS: the hub's certificate is checked against the system trust store; --hub-ca FILE \
                trusts the CAs in FILE instead, and --hub-cert-sha256 pins one certificate of the hub's \
                chain (its self-signed certificate or a CA certificate it sends). A plain http:// hub is \
                refused unless it is on loopback or --insecure-http is given. These apply to every --hub URL.

                Several hub replicas (one hub on one PostgreSQL database): repeat --hub for each. Calls \
                go to the first until it is gone (connection refused or reset, no answer in time, HTTP \
                502/503/504); then the agent moves to the next at once and stays there, and its running \
                tasks and their logs carry on. One URL behind a load balancer works as well.

                Example:
                  outpost agent start --hub https://outpost.internal:8080 --token-file /etc/outpost/token --tags prod,eu --concurrency 4

                Self-protection: the agent makes itself non-dumpable at start, so a task (or any \
                other process of its user) cannot read its environment or memory through /proc; a \
                --token argument is overwritten in the process's command line at once and a warning \
                says to use --token-file; every value the agent holds is masked in every task's log.
                """
        )

        @Option(
            help: ArgumentHelp(
                "URL of the hub. Repeat it for each replica of one hub: the agent moves to the next when the one in use is gone.",
                valueName: "url"))
        var hub: [String] = []

        @Option(
            help: ArgumentHelp(
                "The agent type's registration token. Other users see arguments in `ps` until the agent hides them: prefer --token-file or OUTPOST_AGENT_TOKEN.",
                valueName: "token"))
        var token: String?

        @OptionGroup var trust: HubTrustOptions

        @Option(
            name: .customLong("token-file"),
            help: ArgumentHelp("File holding the agent type's registration token (mode 0600).", valueName: "path"))
        var tokenFile: String?

        @Option(help: "Name to register under: 8-80 of [A-Za-z0-9._-] (default: a random readable name).")
        var name: String?

        @Option(help: "Comma-separated routing tags, e.g. prod,eu.")
        var tags: String?

        @Option(help: "Tasks run at once (default 1).")
        var concurrency: String?

        @Option(
            name: .customLong("work-dir"),
            help: ArgumentHelp(
                "Directory for task files and log spools (default ./outpost-agent/NAME, or ./outpost-agent/unnamed/N without --name).",
                valueName: "dir"))
        var workDir: String?

        @Option(name: .customLong("kill-grace"), help: ArgumentHelp("Time between SIGTERM and SIGKILL when stopping a task (default 10s).", valueName: "duration"))
        var killGrace: String?

        @Option(name: .customLong("config-file"), help: ArgumentHelp("YAML file with agent settings.", valueName: "path"))
        var configFile: String?

        @Flag(
            name: .customLong("disconnect-after-job"),
            help: "Ephemeral agent: run one task, then deregister and exit 0 (the hub decides, so no task is lost).")
        var disconnectAfterJob = false

        @Flag(
            name: .customLong("long-poll"),
            help: "Talk to the hub by HTTP long poll only, never over the persistent WebSocket channel (the agent also falls back to the long poll by itself where a proxy refuses the channel).")
        var longPoll = false

        @Option(
            name: .customLong("disconnect-after-idle-timeout"),
            help: ArgumentHelp(
                "Autoscaled agent: after this long without a task (e.g. 10m), deregister and exit 0.",
                valueName: "duration"))
        var idleTimeout: String?

        @Option(
            name: .customLong("aws-sts-endpoint"),
            help: ArgumentHelp(
                "For aws-sts agent types: the STS endpoint the hub checks this agent's AWS identity at (default https://sts.amazonaws.com).",
                valueName: "url"))
        var awsSTSEndpoint: String?

        @Option(
            name: .customLong("jwk-url"),
            help: ArgumentHelp(
                "User-token enforcement: run a task only if it carries a user JWT that verifies against this JWKS (RS256/ES256).",
                valueName: "url"))
        var jwkURL: String?

        @Option(
            name: .customLong("require-signed-tasks"),
            help: ArgumentHelp(
                "Signed tasks: `true` runs only tasks whose submitter's signature verifies against --verification-keys (others are rejected with the reason); `warn` logs a failed check and runs the task; `false` (default) does not check.",
                valueName: "true|warn|false"))
        var requireSignedTasks: String?

        @Option(
            name: .customLong("verification-keys"),
            help: ArgumentHelp(
                "Signed tasks: the public keys trusted to sign tasks, as a JWKS file (re-read when it changes) or an http(s) URL (`outpost keys generate` writes one).",
                valueName: "file|url"))
        var verificationKeys: String?

        @Option(
            name: .customLong("run-as"),
            help: ArgumentHelp(
                "Run every task as this user (name or uid), so tasks cannot read the agent's files or memory; the agent must run as root.",
                valueName: "user"))
        var runAs: String?

        func run() async throws {
            // First, before anything can fail: nothing of this process is for its tasks to read.
            if let token { ProcessHardening.scrubArguments(token) }
            do {
                try ProcessHardening.makeNonDumpable()
            } catch {
                throw CLIExit(code: CLIExit.Code.failure, message: error.message)
            }
            let logger = LogSetup.logger("outpost.agent")
            let settings = try AgentSettings.resolve(
                flags: .init(
                    hub: hub, token: token, tokenFile: tokenFile, name: name, tags: tags, concurrency: concurrency, workDir: workDir,
                    killGrace: killGrace, disconnectAfterJob: disconnectAfterJob, longPoll: longPoll, idleTimeout: idleTimeout,
                    awsSTSEndpoint: awsSTSEndpoint, jwkURL: jwkURL, requireSignedTasks: requireSignedTasks,
                    verificationKeys: verificationKeys, runAs: runAs, hubCA: trust.hubCA,
                    hubCertSHA256: trust.hubCertSHA256, insecureHTTP: trust.insecureHTTP),
                configFile: configFile)
            let configuration = try settings.agentConfiguration()
            if let identity = configuration.runAs {
                logger.info("tasks run as another user", metadata: ["run_as": "\(identity)"])
            } else if geteuid() == 0 {
                logger.warning(
                    "the agent runs as root and so do its tasks: root reads any process's memory and files, the agent's included; run tasks as another user with --run-as USER"
                )
            }
            if settings.tokenFromArguments {
                logger.warning(
                    "the registration token was given with --token, so other users of this host could read it in `ps` until the agent hid it; use --token-file PATH or OUTPOST_AGENT_TOKEN instead"
                )
            }
            for warning in settings.warnings { logger.warning("\(warning)") }
            let secretsHTTP = SecretHTTP.makeClient()
            do {
                try await run(
                    configuration, secretsHTTP: secretsHTTP, settings: settings, logger: logger)
            } catch {
                try? await secretsHTTP.shutdown()
                throw error
            }
            try? await secretsHTTP.shutdown()
        }

        private func run(
            _ configuration: AgentConfiguration, secretsHTTP: HTTPClient, settings: AgentSettings, logger: Logger
        ) async throws {
            var configuration = configuration
            configuration.secrets = try Self.secretSet(settings.secrets, http: secretsHTTP, logger: logger)
            configuration.userTokens = try Self.userTokenVerifier(settings.userTokens, http: secretsHTTP, logger: logger)
            configuration.signedTasks = try Self.signedTasks(settings, http: secretsHTTP, logger: logger)
            // Signed afresh for every registration: a signature is good for about 15 minutes.
            let (endpoint, region) = (settings.awsSTSEndpoint, settings.awsRegion)
            let http = SecretHTTP(client: secretsHTTP, timeout: .seconds(10))
            configuration.awsIdentitySigner = {
                try await AWSCallerIdentityRequest.signedCallerIdentity(
                    endpoint: endpoint, region: region, environment: ProcessInfo.processInfo.environment, http: http,
                    logger: logger)
            }
            do {
                try configuration.validate()
            } catch {
                throw CLIExit.usage(error.message)
            }
            do {
                try await ServiceRunner.run([AgentDaemon(configuration: configuration, logger: logger)], logger: logger)
            } catch let error as AgentError {
                throw CLIExit(code: CLIExit.Code.failure, message: error.message)
            }
        }

        /// User-token enforcement from `jwk_url` and its companions; a bad value is a usage error (exit 2).
        static func userTokenVerifier(
            _ settings: AgentSettings.UserTokenSettings?, http: HTTPClient, logger: Logger
        ) throws -> UserTokenVerifier? {
            guard let settings else { return nil }
            let policy = UserTokenPolicy(
                jwkURL: settings.jwkURL, issuer: settings.issuer, audience: settings.audience, leeway: settings.leeway)
            do {
                try policy.validate()
            } catch {
                throw CLIExit.usage(error.message)
            }
            logger.info("user-token enforcement on: tasks run only with a valid user token", metadata: ["jwk_url": "\(settings.jwkURL)"])
            return UserTokenVerifier(policy: policy, client: http, logger: logger)
        }

        /// Signed-task enforcement; a key file that cannot be used is a usage error (exit 2).
        static func signedTasks(_ settings: AgentSettings, http: HTTPClient, logger: Logger) throws -> SignedTaskSettings {
            var signed = SignedTaskSettings(mode: settings.signedTaskMode)
            if let location = settings.verificationKeys {
                let lowered = location.lowercased()
                if lowered.hasPrefix("https://") || lowered.hasPrefix("http://") {
                    signed.keys = VerificationKeyURL(url: location, fetcher: HTTPKeySetFetcher(client: http), logger: logger)
                } else {
                    do {
                        signed.keys = try VerificationKeyFile(path: location, logger: logger)
                    } catch {
                        throw CLIExit.usage(error.cause)
                    }
                }
            }
            if signed.mode != .off {
                logger.info(
                    "signed tasks: \(signed.mode == .require ? "tasks run only with a valid signature" : "a failed signature check is logged, and the task runs")",
                    metadata: ["verification_keys": "\(settings.verificationKeys ?? "")"])
            }
            return signed
        }

        /// Builds the configured providers; a bad option is a usage error (exit 2).
        static func secretSet(_ settings: SecretsSettings, http: HTTPClient, logger: Logger) throws -> SecretSet {
            let context = ProviderContext(
                http: http, logger: logger, environment: ProcessInfo.processInfo.environment)
            var providers: [ManagedProvider] = []
            for options in settings.providers {
                do {
                    providers.append(try ProviderCatalog.make(options: options, context: context))
                } catch {
                    throw CLIExit.usage(error.message)
                }
            }
            return SecretSet(providers: providers)
        }
    }
}
