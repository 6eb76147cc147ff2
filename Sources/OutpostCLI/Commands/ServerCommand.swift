import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import OutpostCore
import OutpostHub
import OutpostStore

/// `outpost server`: the hub.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the hub: the HTTP API agents and users talk to, on SQLite or a shared PostgreSQL.",
        discussion: """
            The first start creates an admin API token, prints it once and writes it to \
            DATA_DIR/admin-token (mode 0600). Settings come from flags, OUTPOST_SERVER_* \
            environment variables and --config-file (see docs/configuration.md). SIGTERM or \
            SIGINT stops it gracefully.

            On a non-loopback address the hub serves HTTPS: --tls-cert and --tls-key \
            (PEM; TLS 1.2 or 1.3), re-read on SIGHUP and when the files change, without \
            dropping open connections. --insecure-http serves plain HTTP instead, for a hub \
            behind a TLS-terminating proxy. See docs/operations.md, "TLS".

            With --database postgres://… several replicas share one database: start the \
            same command on several machines behind a load balancer (health check /readyz). \
            See docs/operations.md, "Several hubs". To move a hub's SQLite data there: \
            outpost server migrate-store.
            """,
        subcommands: [ServerCACommand.self, ServerMigrateStoreCommand.self]
    )

    @OptionGroup var options: HubOptions

    func run() async throws {
        let settings = try options.settings()
        let logger = LogSetup.logger("outpost.hub")
        let runtime = try await HubLauncher.start(settings, logger: logger)
        if let token = runtime.firstStartAdminToken {
            Output.line("created the first admin API token (also in \(settings.dataDirectory)/admin-token):")
            Output.line("OUTPOST_TOKEN=\(token)")
        }
        try await HubLauncher.run(runtime, logger: logger) { address, _ in
            Output.line("outpost hub listening on \(address.url)")
            if let agents = await runtime.agentListeningAddress() {
                Output.line("outpost hub listening for agents on \(agents.url)")
            }
        }
    }
}

/// The flags `outpost server` and `outpost dev` share.
struct HubOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).", valueName: "host:port"))
    var listen: String?

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Directory of the SQLite database (default ./outpost-data).", valueName: "dir"))
    var dataDir: String?

    @Option(help: ArgumentHelp("Silence after which an agent is offline and its tasks lost (default 60s).", valueName: "duration"))
    var heartbeatTimeout: String?

    @Option(name: .customLong("config-file"), help: ArgumentHelp("YAML file with hub settings.", valueName: "path"))
    var configFile: String?

    @Option(
        name: .customLong("tls-cert"),
        help: ArgumentHelp(
            "PEM certificate chain (leaf first) to serve HTTPS with; needs --tls-key. Re-read on SIGHUP and when the file changes.",
            valueName: "path"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert (keep it 0600).", valueName: "path"))
    var tlsKey: String?

    @Option(
        name: .customLong("agent-listen"),
        help: ArgumentHelp(
            "A second address for agents only (e.g. 0.0.0.0:8443). Only it asks for client certificates (agent types with --require-client-cert), so browsers on --listen are never asked for one.",
            valueName: "host:port"))
    var agentListen: String?

    @Flag(
        name: .customLong("insecure-http"),
        help: ArgumentHelp(
            "Serve plain HTTP on a non-loopback address: only behind a proxy that terminates TLS (tokens would otherwise cross the network in clear text)."))
    var insecureHTTP = false

    @Option(
        help: ArgumentHelp(
            "PostgreSQL database shared by several hub replicas, as postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=verify-full&sslrootcert=CA.pem] (default: SQLite in --data-dir). See docs/operations.md, \"Several hubs\".",
            valueName: "url"))
    var database: String?

    @Option(
        name: .customLong("database-password-file"),
        help: ArgumentHelp("File holding the database password, when neither the URL nor PGPASSWORD has it.", valueName: "path"))
    var databasePasswordFile: String?

    @Option(
        name: .customLong("metrics-token-file"),
        help: ArgumentHelp("File holding the bearer token /metrics then requires (default: /metrics is open).", valueName: "path"))
    var metricsTokenFile: String?

    func settings() throws(ConfigError) -> ServerSettings {
        try ServerSettings.resolve(
            flags: .init(
                listen: listen, dataDir: dataDir, heartbeatTimeout: heartbeatTimeout, metricsTokenFile: metricsTokenFile,
                tlsCert: tlsCert, tlsKey: tlsKey, insecureHTTP: insecureHTTP, agentListen: agentListen,
                database: database, databasePasswordFile: databasePasswordFile),
            configFile: configFile)
    }
}

/// Starting and running a hub, shared by `server` and `dev`.
enum HubLauncher {
    static func start(_ settings: ServerSettings, logger: Logger) async throws -> HubRuntime {
        var configuration = HubConfiguration()
        configuration.host = settings.host
        configuration.port = settings.port
        configuration.dataDirectory = settings.dataDirectory
        configuration.heartbeatTimeout = settings.heartbeatTimeout
        configuration.pollTimeout = settings.pollTimeout
        configuration.defaultTaskTimeoutSeconds = Int(settings.defaultTaskTimeout.components.seconds)
        configuration.timeoutGrace = settings.timeoutGrace
        configuration.maxLogBytes = settings.maxLogBytes
        configuration.headerReadTimeout = settings.headerReadTimeout
        configuration.idleTimeout = settings.idleTimeout
        configuration.maxConnections = settings.maxConnections
        configuration.maxConnectionsPerPeer = settings.maxConnectionsPerPeer
        configuration.metricsToken = settings.metricsToken
        configuration.offlineAgentRetention = settings.offlineAgentRetention
        configuration.consoleSessionLifetime = settings.consoleSessionLifetime
        configuration.retention = settings.retention
        configuration.tls = settings.tls
        configuration.insecureHTTP = settings.insecureHTTP
        configuration.tlsReloadInterval = settings.tlsReloadInterval
        configuration.agentCertificateLifetime = settings.agentCertificateLifetime
        configuration.agentListen = settings.agentListen
        configuration.agentCAFiles = settings.agentCAFiles
        configuration.database = settings.database
        configuration.clusterNotify = settings.clusterNotify
        configuration.clusterKeyFile = settings.clusterKeyFile
        do {
            return try await HubRuntime.start(configuration: configuration, logger: logger)
        } catch let error as HubError where error.underlying is StoreError || error.underlying is OutpostCore.ValidationError {
            // The database is part of the configuration: a wrong URL, password, server or grant is exit 2.
            throw CLIExit(code: CLIExit.Code.usage, message: "\(error)")
        } catch {
            throw CLIExit(code: CLIExit.Code.failure, message: "\(error)")
        }
    }

    /// Runs the hub's services until shutdown, calling `onListening` once the API
    /// accepts connections (with the group, to add services that need the hub).
    static func run(
        _ runtime: HubRuntime, logger: Logger,
        onListening: @escaping @Sendable (HubAddress, ServiceGroup) async throws -> Void
    ) async throws {
        try await ServiceRunner.run(runtime.services, logger: logger) { group in
            if let address = await runtime.listeningAddress() { try await onListening(address, group) }
        }
    }
}
