import Foundation
import OutpostCore

/// The hub's settings after merging flags, `OUTPOST_SERVER_*` and the config file.
struct ServerSettings: Equatable {
    /// Address the API listens on (`listen`, default 127.0.0.1:8080; port 0 picks a free one).
    var host = "127.0.0.1"
    var port = 8080
    /// Directory of the SQLite database and the first admin token (`data_dir`, default ./outpost-data).
    var dataDirectory = "./outpost-data"
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

    static let keys: Set<String> = [
        "listen", "data_dir", "heartbeat_timeout", "poll_timeout", "default_task_timeout", "timeout_grace",
        "max_log_bytes",
    ]

    /// Flags the server and dev commands share.
    struct Flags {
        var listen: String?
        var dataDir: String?
        var heartbeatTimeout: String?
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
        return settings
    }
}
