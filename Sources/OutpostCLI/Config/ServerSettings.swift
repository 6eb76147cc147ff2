import Foundation
import OutpostCore
import OutpostHub
import OutpostStore

/// The hub's settings after merging flags, `OUTPOST_SERVER_*` and the config file.
struct ServerSettings: Equatable {
    /// Address the API listens on (`listen`, default 127.0.0.1:8080; port 0 picks a free one).
    var host = "127.0.0.1"
    var port = 8080
    /// Directory of the SQLite database and the first admin token (`data_dir`, default ./outpost-data).
    var dataDirectory = "./outpost-data"
    /// The shared PostgreSQL database of several hub replicas (`database`, a postgres:// URL;
    /// password from the URL, PGPASSWORD or `database_password_file`). Default none: SQLite in `data_dir`.
    var database: PostgresSettings?
    /// Replicas tell each other about changes with NOTIFY (`cluster_notify`, default true;
    /// false behind a transaction-mode PgBouncer: changes then travel within a second).
    var clusterNotify = true
    /// The key that seals user tokens handed between replicas (`cluster_key_file`: 32 random bytes, base64).
    var clusterKeyFile: String?
    /// Silence after which an agent is offline and its tasks lost (`heartbeat_timeout`, default 60s).
    var heartbeatTimeout: Duration = .seconds(60)
    /// Longest a poll is held open (`poll_timeout`, default 25s; never more than half the heartbeat timeout).
    var pollTimeout: Duration = .seconds(25)
    /// Timeout of tasks whose target and request name none (`default_task_timeout`, default 1h).
    var defaultTaskTimeout: Duration = .seconds(3600)
    /// Extra time after a task's timeout before the hub itself marks it timed_out (`timeout_grace`, default 30s).
    var timeoutGrace: Duration = .seconds(30)
    /// The hub's cap on one task's stored log (`max_log_bytes`, default 65MiB).
    var maxLogBytes: Int64 = (64 << 20) + (1 << 20)
    /// Longest wait for a request head after a connection opens or its first byte (`header_read_timeout`, default 10s).
    var headerReadTimeout: Duration = .seconds(10)
    /// Longest silence between requests or inside a body (`idle_timeout`, default 75s; never cuts a poll being answered).
    var idleTimeout: Duration = .seconds(75)
    /// Open connections in all (`max_connections`, default 32768; lowered to what the open-file limit allows).
    var maxConnections = 32_768
    /// Open connections per peer IPv4 address or IPv6 /64 (`max_connections_per_peer`, default 8192; 0: no cap).
    var maxConnectionsPerPeer = 8_192
    /// Bearer token `/metrics` requires, read from `metrics_token_file` (default none: `/metrics` is open).
    var metricsToken: MetricsToken?
    /// How long offline agents are kept before the hub deletes them (`offline_agent_retention`, default 24h).
    var offlineAgentRetention: Duration = .seconds(86_400)
    /// How long a web-console sign-in lasts (`console_session_lifetime`, default 12h).
    var consoleSessionLifetime: Duration = .seconds(12 * 3_600)
    /// How long finished tasks and their logs are kept (`retention`, default 30 days).
    var retention: Duration = .seconds(30 * 86_400)
    /// PEM certificate chain and private key the API is served with over HTTPS
    /// (`tls_cert`, `tls_key`; default none: plain HTTP, on loopback only).
    var tls: ServerCertificate.Files?
    /// Serve plain HTTP on a non-loopback address, behind a TLS-terminating proxy (`insecure_http`, default false).
    var insecureHTTP = false
    /// How often the certificate and key files are checked for changes (`tls_reload_interval`, default 5s).
    var tlsReloadInterval: Duration = .seconds(5)
    /// Lifetime of agents' client certificates (`agent_cert_lifetime`, default 24h; they renew at two thirds).
    var agentCertificateLifetime: Duration = .seconds(86_400)
    /// A second listener for agents (`agent_listen`): only it asks for client certificates. Default none.
    var agentListen: HubAddress?
    /// The CA that signs agents' certificates, by file (`agent_ca_cert`, `agent_ca_key`; P-256). Default: the hub's own.
    var agentCAFiles: ServerCertificate.Files?

    static let keys: Set<String> = [
        "listen", "data_dir", "heartbeat_timeout", "poll_timeout", "default_task_timeout", "timeout_grace",
        "max_log_bytes", "header_read_timeout", "idle_timeout", "max_connections", "max_connections_per_peer",
        "metrics_token_file", "offline_agent_retention", "tls_cert", "tls_key", "insecure_http",
        "tls_reload_interval", "agent_cert_lifetime", "agent_listen", "agent_ca_cert", "agent_ca_key",
        "database", "database_password_file", "database_pool_size", "cluster_notify", "cluster_key_file", "retention",
        "console_session_lifetime",
    ]

    /// Flags the server and dev commands share.
    struct Flags {
        var listen: String?
        var dataDir: String?
        var heartbeatTimeout: String?
        var metricsTokenFile: String?
        var tlsCert: String?
        var tlsKey: String?
        var insecureHTTP = false
        var agentListen: String?
        var database: String?
        var databasePasswordFile: String?
    }

    static func resolve(
        flags: Flags, configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> ServerSettings {
        let file = try configFile.map { path throws(ConfigError) in try ConfigFile.load(path: path) }
        return try resolve(flags: flags, file: file, environment: environment)
    }

    static func resolve(flags: Flags, file: ConfigFile?, environment: [String: String]) throws(ConfigError) -> Self {
        let layers = try ConfigLayers(section: "server", file: file, environment: environment, knownKeys: keys)
        var settings = ServerSettings()
        if let (host, port) = try layers.listenAddress("listen", flag: ("--listen", flags.listen)) {
            settings.host = host
            settings.port = port
        }
        if let dir = try layers.string("data_dir", flag: ("--data-dir", flags.dataDir)) { settings.dataDirectory = dir }
        if let value = try layers.duration(
            "heartbeat_timeout", flag: ("--heartbeat-timeout", flags.heartbeatTimeout), range: 1...86400)
        {
            settings.heartbeatTimeout = value
        }
        if let value = try layers.duration("poll_timeout", range: 0.1...300) { settings.pollTimeout = value }
        if let value = try layers.duration("default_task_timeout", range: 1...604800) { settings.defaultTaskTimeout = value }
        if let value = try layers.duration("timeout_grace", range: 0...3600) { settings.timeoutGrace = value }
        if let value = try layers.bytes("max_log_bytes", range: 1024...(1 << 40)) { settings.maxLogBytes = value }
        try resolveListener(layers, into: &settings)
        settings.metricsToken = try metricsToken(layers, flag: flags.metricsTokenFile)
        if let value = try layers.duration("offline_agent_retention", range: 60...(366 * 86400)) {
            settings.offlineAgentRetention = value
        }
        if let value = try layers.duration("retention", range: 3600...(3660 * 86400)) { settings.retention = value }
        if let value = try layers.duration("console_session_lifetime", range: 60...(31 * 86400)) {
            settings.consoleSessionLifetime = value
        }
        try resolveTLS(layers, flags: flags, into: &settings)
        settings.database = try database(layers, flags: flags, environment: environment)
        settings.clusterNotify = try layers.bool("cluster_notify") ?? true
        if let (file, origin) = try layers.raw("cluster_key_file") {
            do {
                _ = try UserTokenSeal(keyFile: file)
            } catch {
                throw ConfigError(key: "cluster_key_file", origin: origin, problem: error.message)
            }
            settings.clusterKeyFile = file
        }
        return settings
    }

    /// The PostgreSQL URL, parsed now so a wrong one stops the start naming the key
    /// (never the password); `database_pool_size` overrides the URL's `pool_size`.
    private static func database(
        _ layers: ConfigLayers, flags: Flags, environment: [String: String]
    ) throws(ConfigError) -> PostgresSettings? {
        let passwordFile = try layers.raw("database_password_file", flag: ("--database-password-file", flags.databasePasswordFile))
        guard let (url, origin) = try layers.raw("database", flag: ("--database", flags.database)) else {
            if let (_, origin) = passwordFile {
                throw ConfigError(key: "database_password_file", origin: origin, problem: "is given but no database URL is")
            }
            return nil
        }
        var settings: PostgresSettings
        do {
            settings = try PostgresSettings(url: url, environment: environment, passwordFile: passwordFile?.0)
        } catch {
            let key = error.message.contains("password file") ? "database_password_file" : "database"
            throw ConfigError(key: key, origin: key == "database" ? origin : passwordFile?.1 ?? origin, problem: error.message)
        }
        if let size = try layers.int("database_pool_size", range: 1...1_000) { settings.poolSize = size }
        return settings
    }

    /// The certificate file when one is configured (`nil`: plain HTTP).
    private static func certificateOrNone(_ layers: ConfigLayers, _ flags: Flags) -> String? {
        (try? layers.raw("tls_cert", flag: ("--tls-cert", flags.tlsCert)))??.0
    }

    /// The certificate and key (both or neither, each file checked now so that a
    /// bad one stops the start with its name), and plain HTTP only where it is safe.
    private static func resolveTLS(_ layers: ConfigLayers, flags: Flags, into settings: inout ServerSettings) throws(ConfigError) {
        settings.insecureHTTP = try layers.bool("insecure_http", flag: ("--insecure-http", flags.insecureHTTP)) ?? false
        settings.agentListen = try layers.listenAddress("agent_listen", flag: ("--agent-listen", flags.agentListen))
            .map { HubAddress(host: $0.host, port: $0.port) }
        if let agents = settings.agentListen, certificateOrNone(layers, flags) == nil, !settings.insecureHTTP,
            !LoopbackHost.contains(agents.host)
        {
            let origin = try layers.raw("agent_listen", flag: ("--agent-listen", flags.agentListen))?.1 ?? .defaultValue
            throw ConfigError(key: "agent_listen", origin: origin, problem: HubConfiguration.plainHTTPRefusal(host: agents.host))
        }
        if let value = try layers.duration("tls_reload_interval", range: 1...3600) { settings.tlsReloadInterval = value }
        if let value = try layers.duration("agent_cert_lifetime", range: 3...(366 * 86400)) {
            settings.agentCertificateLifetime = value
        }
        switch (try layers.raw("agent_ca_cert"), try layers.raw("agent_ca_key")) {
        case (nil, nil): break
        case (let (certificate, _)?, let (key, _)?): settings.agentCAFiles = ServerCertificate.Files(certificate: certificate, key: key)
        case (let (_, origin)?, nil): throw ConfigError(key: "agent_ca_key", origin: origin, problem: "agent_ca_cert is given but no agent_ca_key: give both")
        case (nil, let (_, origin)?): throw ConfigError(key: "agent_ca_cert", origin: origin, problem: "agent_ca_key is given but no agent_ca_cert: give both")
        }
        let certificate = try layers.raw("tls_cert", flag: ("--tls-cert", flags.tlsCert))
        let key = try layers.raw("tls_key", flag: ("--tls-key", flags.tlsKey))
        switch (certificate, key) {
        case (nil, nil):
            if !settings.insecureHTTP && !LoopbackHost.contains(settings.host) {
                let origin = try layers.raw("listen", flag: ("--listen", flags.listen))?.1 ?? .defaultValue
                throw ConfigError(key: "listen", origin: origin, problem: HubConfiguration.plainHTTPRefusal(host: settings.host))
            }
        case (let (path, origin)?, nil):
            throw ConfigError(key: "tls_key", origin: origin, problem: "tls_cert \(path) is given but no tls_key: give both")
        case (nil, let (path, origin)?):
            throw ConfigError(key: "tls_cert", origin: origin, problem: "tls_key \(path) is given but no tls_cert: give both")
        case (let (certificatePath, certificateOrigin)?, let (keyPath, keyOrigin)?):
            let files = ServerCertificate.Files(certificate: certificatePath, key: keyPath)
            do {
                _ = try ServerTLS(files: files)
            } catch {
                let (key, origin) = error.file == .certificate ? ("tls_cert", certificateOrigin) : ("tls_key", keyOrigin)
                throw ConfigError(key: key, origin: origin, problem: error.description)
            }
            settings.tls = files
        }
    }

    private static func resolveListener(_ layers: ConfigLayers, into settings: inout ServerSettings) throws(ConfigError) {
        if let value = try layers.duration("header_read_timeout", range: 1...300) { settings.headerReadTimeout = value }
        if let value = try layers.duration("idle_timeout", range: 1...3600) { settings.idleTimeout = value }
        if settings.idleTimeout < settings.headerReadTimeout {
            let origin = try layers.raw("idle_timeout")?.1 ?? .defaultValue
            throw ConfigError(key: "idle_timeout", origin: origin, problem: "must not be shorter than header_read_timeout")
        }
        if let value = try layers.int("max_connections", range: 16...10_000_000) { settings.maxConnections = value }
        if let value = try layers.int("max_connections_per_peer", range: 0...10_000_000) {
            settings.maxConnectionsPerPeer = value
        }
    }

    /// Reads the metrics token from its file; the error names the key, never the token.
    private static func metricsToken(_ layers: ConfigLayers, flag: String?) throws(ConfigError) -> MetricsToken? {
        guard let (path, origin) = try layers.raw("metrics_token_file", flag: ("--metrics-token-file", flag)) else {
            return nil
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key: "metrics_token_file", origin: origin, problem: "cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try MetricsToken(text)
        } catch {
            throw ConfigError(key: "metrics_token_file", origin: origin, problem: "\(path): \(error.message)")
        }
    }
}
