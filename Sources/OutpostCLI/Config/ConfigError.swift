/// A configuration problem: which key, where it came from, what was wrong.
/// The CLI prints it as one line and exits with code 2.
struct ConfigError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }

    init(_ message: String) { self.message = message }

    /// `agent.yaml:3: concurrency: expected ...`, or `OUTPOST_AGENT_CONCURRENCY: expected ...`.
    init(key: String, origin: ConfigOrigin, problem: String) {
        message = "\(origin.locationPrefix)\(key): \(problem)"
    }
}

/// Where a configuration value came from, for error messages.
enum ConfigOrigin: Equatable {
    case flag(String)
    case environment(String)
    case file(path: String, line: Int)
    case defaultValue

    var locationPrefix: String {
        switch self {
        case .flag(let name): "flag \(name): "
        case .environment(let name): "environment variable \(name): "
        case .file(let path, let line): "\(path):\(line): "
        case .defaultValue: ""
        }
    }
}
