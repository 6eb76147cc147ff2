package import OutpostCore
package import OutpostStore

/// Everything `outpost server` (and `outpost dev`) can tune about the hub, as one
/// validated value. The CLI builds it from flags, the config file and the environment.
package struct HubConfiguration: Sendable, Equatable {
    /// Address the HTTP API binds to. Default `127.0.0.1` (loopback only).
    package var host: String = "127.0.0.1"
    /// TCP port of the HTTP API; `0` picks any free port. Default `8080`.
    package var port: Int = 8080
    /// Directory holding `outpost.sqlite` and `admin-token`; created if absent. Default `./outpost-data`.
    package var dataDirectory: String = "./outpost-data"
    /// Silence after which an agent is marked offline and its tasks `lost`. Default 60 s.
    package var heartbeatTimeout: Duration = .seconds(60)
    /// Longest time a poll is held open before it is answered empty. Default 25 s
    /// (the hub never waits longer than half the heartbeat timeout, see `effectivePollTimeout`).
    package var pollTimeout: Duration = .seconds(25)
    /// Timeout of a task whose request and target name none, in seconds. Default 3600.
    package var defaultTaskTimeoutSeconds: Int = 3600
    /// Extra time past a task's timeout before the hub itself marks it `timed_out`. Default 30 s.
    package var timeoutGrace: Duration = .seconds(30)
    /// Hub-side cap of one task's stored log: the agent caps at 64 MiB itself, this is the safety net. Default 65 MiB.
    package var maxLogBytes: Int64 = 65 * 1024 * 1024
    /// How often the sweeper looks for silent agents and overdue tasks. Default 1 s
    /// (never more than a quarter of the heartbeat timeout, see `effectiveSweepInterval`).
    package var sweepInterval: Duration = .seconds(1)
    /// Largest script a task may carry, in bytes. Default 1 MiB.
    package var maxScriptBytes: Int = 1024 * 1024
    /// How long a request relayed to an agent through its poll (listing secret names) waits for its answer. Default 30 s.
    package var relayTimeout: Duration = .seconds(30)
    /// Longest time from a connection opening, or from the first byte of a request on
    /// a kept-alive one, to its complete request head; slower connections are closed. Default 10 s.
    package var headerReadTimeout: Duration = .seconds(10)
    /// Longest silence between two requests on a kept-alive connection, or inside a
    /// request body. Longer than the agents' HTTP pool keeps idle connections (60 s),
    /// so clients close quiet connections first; a poll being answered is never cut. Default 75 s.
    package var idleTimeout: Duration = .seconds(75)
    /// Open connections the hub accepts in all; lowered at start to what the open-file
    /// limit leaves room for. Default 32,768 (10,000 agents hold a poll and a log upload each, plus users).
    package var maxConnections: Int = 32_768
    /// Open connections one peer (IPv4 address or IPv6 /64) may hold; 0 turns the cap
    /// off (behind a reverse proxy every connection comes from the proxy). Default 8,192:
    /// 10,000 agents behind three NAT addresses hold about 6,700 each.
    package var maxConnectionsPerPeer: Int = 8_192
    /// Bearer token `/metrics` requires; `nil` leaves it open. Default `nil`.
    package var metricsToken: MetricsToken?
    /// How long one `/metrics` body is served again before it is recomputed (concurrent
    /// scrapes share one computation). Default 1 s.
    package var metricsSnapshotInterval: Duration = .seconds(1)
    /// How long an offline agent stays in the store (and in `outpost agents`) after it
    /// was last seen; the sweeper deletes it after that. Default 24 h.
    package var offlineAgentRetention: Duration = .seconds(86_400)
    /// How long finished tasks (with their logs) stay in the database; the leader
    /// deletes older ones in bounded batches. Default 30 days.
    package var retention: Duration = .seconds(30 * 86_400)
    /// How long a web-console sign-in lasts (absolute, from sign-in); signing out, or
    /// revoking or rotating the API token used, ends it sooner. Default 12 h.
    package var consoleSessionLifetime: Duration = .seconds(12 * 3_600)
    /// PEM certificate chain and key the API is served with over HTTPS; `nil`
    /// serves plain HTTP, which `validate` allows on loopback only unless
    /// `insecureHTTP`. Default `nil`.
    package var tls: ServerCertificate.Files?
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy). Default `false`.
    package var insecureHTTP = false
    /// How often the certificate and key files are checked for changes. Default 5 s.
    package var tlsReloadInterval: Duration = .seconds(5)
    /// Lifetime of the client certificates the hub's CA issues to agents of types
    /// that require one; agents renew at two thirds of it. Default 24 h.
    package var agentCertificateLifetime: Duration = .seconds(86_400)
    /// The CA that signs agents' certificates, given by file (a P-256 key); `nil`:
    /// the hub's own, made in `DATA_DIR/ca`. Default `nil`.
    package var agentCAFiles: ServerCertificate.Files?
    /// A second listener for agents (`--agent-listen`). Only it asks connections for a
    /// client certificate, so that browsers on the main listener are never asked for
    /// one; agents of types that require certificates must use it. Default `nil`: the
    /// one listener serves everyone.
    package var agentListen: HubAddress?
    /// The PostgreSQL database several hub replicas share; `nil`: SQLite in the data
    /// directory, one hub. Default `nil`.
    package var database: PostgresSettings?
    /// With several replicas: tell the others about changes at once with NOTIFY
    /// (`cluster_notify`). `false` behind a PgBouncer in transaction mode, where
    /// LISTEN cannot work; replicas then see each other's changes within the
    /// one-second reconciliation. Default `true`.
    package var clusterNotify = true
    /// A file of 32 random bytes in base64, the same on every replica, that seals
    /// user tokens handed between replicas through the database (`cluster_key_file`).
    /// Without it, replicas refuse tasks that carry a user token. Default `nil`.
    package var clusterKeyFile: String?

    package init() {}

    package init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        dataDirectory: String = "./outpost-data",
        heartbeatTimeout: Duration = .seconds(60),
        pollTimeout: Duration = .seconds(25),
        defaultTaskTimeoutSeconds: Int = 3600,
        timeoutGrace: Duration = .seconds(30),
        maxLogBytes: Int64 = 65 * 1024 * 1024,
        sweepInterval: Duration = .seconds(1),
        maxScriptBytes: Int = 1024 * 1024
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.heartbeatTimeout = heartbeatTimeout
        self.pollTimeout = pollTimeout
        self.defaultTaskTimeoutSeconds = defaultTaskTimeoutSeconds
        self.timeoutGrace = timeoutGrace
        self.maxLogBytes = maxLogBytes
        self.sweepInterval = sweepInterval
        self.maxScriptBytes = maxScriptBytes
    }

    /// How long a poll really waits: at most half the heartbeat timeout, so an agent
    /// that is waiting in a poll never looks silent to the sweeper.
    package var effectivePollTimeout: Duration { min(pollTimeout, heartbeatTimeout / 2) }

    /// How often the sweeper really runs: often enough to notice silence within a
    /// quarter of the heartbeat timeout.
    package var effectiveSweepInterval: Duration { min(sweepInterval, heartbeatTimeout / 4) }

    /// Checks every field; the error names the field so the CLI can name the key.
    package func validate() throws(ValidationError) {
        guard !host.isEmpty else { throw ValidationError(field: "host", message: "the listen host must not be empty") }
        guard (0...65535).contains(port) else {
            throw ValidationError(field: "port", message: "port \(port) is not in 0...65535")
        }
        guard !dataDirectory.isEmpty else {
            throw ValidationError(field: "data_dir", message: "the data directory must not be empty")
        }
        for (field, value) in [
            ("heartbeat_timeout", heartbeatTimeout), ("poll_timeout", pollTimeout), ("sweep_interval", sweepInterval),
        ] where value <= .zero {
            throw ValidationError(field: field, message: "\(field) must be greater than zero")
        }
        guard timeoutGrace >= .zero else {
            throw ValidationError(field: "timeout_grace", message: "timeout_grace must not be negative")
        }
        guard (1...604_800).contains(defaultTaskTimeoutSeconds) else {
            throw ValidationError(
                field: "default_task_timeout", message: "the default task timeout must be 1 s to 7 days")
        }
        guard maxLogBytes > 0, maxScriptBytes > 0 else {
            throw ValidationError(field: "max_log_bytes", message: "size limits must be greater than zero")
        }
        try validateListener()
        for listenHost in [host] + (agentListen.map { [$0.host] } ?? [])
        where tls == nil && !insecureHTTP && !LoopbackHost.contains(listenHost) {
            throw ValidationError(field: "tls_cert", message: Self.plainHTTPRefusal(host: listenHost))
        }
    }

    /// Why the hub will not listen on `host` without TLS, and the two ways out.
    package static func plainHTTPRefusal(host: String) -> String {
        "refusing to serve plain HTTP on \(host), which is not a loopback address: agent, registration and user "
            + "tokens would cross the network in clear text. Give --tls-cert and --tls-key, or --insecure-http "
            + "when a TLS-terminating proxy in front of the hub serves HTTPS"
    }

    private func validateListener() throws(ValidationError) {
        guard headerReadTimeout > .zero else {
            throw ValidationError(field: "header_read_timeout", message: "header_read_timeout must be greater than zero")
        }
        guard idleTimeout >= headerReadTimeout else {
            throw ValidationError(
                field: "idle_timeout", message: "idle_timeout must not be shorter than header_read_timeout")
        }
        guard maxConnections > 0 else {
            throw ValidationError(field: "max_connections", message: "max_connections must be greater than zero")
        }
        guard maxConnectionsPerPeer >= 0 else {
            throw ValidationError(
                field: "max_connections_per_peer", message: "max_connections_per_peer must not be negative")
        }
        guard metricsSnapshotInterval >= .zero else {
            throw ValidationError(field: "metrics_snapshot_interval", message: "the snapshot interval must not be negative")
        }
        guard offlineAgentRetention > .zero else {
            throw ValidationError(
                field: "offline_agent_retention", message: "offline_agent_retention must be greater than zero")
        }
    }
}

extension Duration {
    /// The duration in seconds, as `TimeInterval`-style `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
