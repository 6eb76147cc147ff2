import Foundation
import OutpostCore

/// Reads one command's settings from three layers, highest first:
/// command-line flag → environment variable `OUTPOST_<SECTION>_<KEY>` → config
/// file → the default. Every typed read names the key and where the bad value
/// came from when it fails.
struct ConfigLayers {
    /// `server` or `agent`: the prefix of environment variables.
    let section: String
    let file: ConfigFile?
    let environment: [String: String]
    /// Keys this command understands; any other key in the file is an error.
    let knownKeys: Set<String>

    init(section: String, file: ConfigFile?, environment: [String: String], knownKeys: Set<String>) throws(ConfigError) {
        self.section = section
        self.file = file
        self.environment = environment
        self.knownKeys = knownKeys
        if let file {
            for entry in file.entries where !knownKeys.contains(entry.key) {
                throw ConfigError(
                    key: entry.key, origin: .file(path: file.path, line: entry.value.line),
                    problem: "unknown key; known keys are \(knownKeys.sorted().joined(separator: ", "))")
            }
        }
    }

    /// The environment variable that overrides `key`.
    func environmentName(for key: String) -> String {
        "OUTPOST_\(section.uppercased())_\(key.uppercased())"
    }

    /// The raw text of `key` and its origin, or `nil` when no layer sets it.
    func raw(_ key: String, flag: (name: String, value: String?)? = nil) throws(ConfigError) -> (String, ConfigOrigin)? {
        if let flag, let value = flag.value { return (value, .flag(flag.name)) }
        let envName = environmentName(for: key)
        if let value = environment[envName] { return (value, .environment(envName)) }
        guard let file, let value = file[key] else { return nil }
        let origin = ConfigOrigin.file(path: file.path, line: value.line)
        switch value {
        case .scalar(let text, _): return (text, origin)
        case .null: return nil
        case .list(let items, _):
            // Lists of scalars (tags) are read as comma-separated text.
            var texts: [String] = []
            for item in items {
                guard case .scalar(let text, _) = item else {
                    throw ConfigError(key: key, origin: origin, problem: "expected a list of plain values")
                }
                texts.append(text)
            }
            return (texts.joined(separator: ","), origin)
        case .map:
            throw ConfigError(key: key, origin: origin, problem: "expected a single value, found a mapping")
        }
    }

    func string(_ key: String, flag: (name: String, value: String?)? = nil) throws(ConfigError) -> String? {
        guard let (text, origin) = try raw(key, flag: flag) else { return nil }
        guard !text.isEmpty else { throw ConfigError(key: key, origin: origin, problem: "must not be empty") }
        return text
    }

    func int(_ key: String, flag: (name: String, value: String?)? = nil, range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let (text, origin) = try raw(key, flag: flag) else { return nil }
        guard let value = Int(text.trimmingSpaces()), range.contains(value) else {
            throw ConfigError(
                key: key, origin: origin,
                problem: "expected a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    /// `true`/`false` (also yes/no, on/off, 1/0). A flag that is present counts as `true`.
    func bool(_ key: String, flag: (name: String, value: Bool)? = nil) throws(ConfigError) -> Bool? {
        if let flag, flag.value { return true }
        guard let (text, origin) = try raw(key) else { return nil }
        switch text.trimmingSpaces().lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigError(key: key, origin: origin, problem: "expected true or false, got \"\(text)\"")
        }
    }

    /// An absolute http:// or https:// URL.
    func url(_ key: String, flag: (name: String, value: String?)? = nil) throws(ConfigError) -> String? {
        guard let (text, origin) = try raw(key, flag: flag) else { return nil }
        let lower = text.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), URL(string: text)?.host?.isEmpty == false
        else {
            throw ConfigError(key: key, origin: origin, problem: "\"\(text)\" is not an http:// or https:// URL")
        }
        return text
    }

    /// A duration such as `60s`, `5m`, `250ms` (or plain seconds), in `range` seconds.
    func duration(
        _ key: String, flag: (name: String, value: String?)? = nil, range: ClosedRange<Double>
    ) throws(ConfigError) -> Duration? {
        guard let (text, origin) = try raw(key, flag: flag) else { return nil }
        let seconds: Double
        do {
            seconds = try DurationParser.seconds(text)
        } catch {
            throw ConfigError(key: key, origin: origin, problem: error.message)
        }
        guard range.contains(seconds) else {
            throw ConfigError(
                key: key, origin: origin,
                problem:
                    "\(text) is out of range; use \(DurationParser.format(range.lowerBound)) to \(DurationParser.format(range.upperBound))"
            )
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// A size such as `64MiB`, `512KiB`, `1GiB` or plain bytes.
    func bytes(_ key: String, flag: (name: String, value: String?)? = nil, range: ClosedRange<Int64>) throws(ConfigError) -> Int64? {
        guard let (text, origin) = try raw(key, flag: flag) else { return nil }
        guard let value = ByteSize.parse(text), range.contains(value) else {
            throw ConfigError(
                key: key, origin: origin,
                problem:
                    "expected a size like 64MiB, 512KiB or a number of bytes from \(range.lowerBound) to \(range.upperBound), got \"\(text)\""
            )
        }
        return value
    }

    /// Tags as a comma-separated string or a YAML list; each validated.
    func tags(_ key: String, flag: (name: String, value: String?)? = nil) throws(ConfigError) -> TagSet? {
        guard let (text, origin) = try raw(key, flag: flag) else { return nil }
        let tags = TagSet(commaSeparated: text)
        for tag in tags.tags {
            do { try Names.validateTag(tag) } catch { throw ConfigError(key: key, origin: origin, problem: error.message) }
        }
        return tags
    }

    /// `host:port`, with the port 0...65535.
    func listenAddress(_ key: String, flag: (name: String, value: String?)? = nil) throws(ConfigError) -> (host: String, port: Int)? {
        guard let (text, origin) = try raw(key, flag: flag) else { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ConfigError(key: key, origin: origin, problem: "expected HOST:PORT such as 127.0.0.1:8080, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Validates a value with a rule from OutpostCore, attributing failures to the key.
    func check(_ key: String, flag: (name: String, value: String?)? = nil, _ rule: (String) throws(ValidationError) -> Void)
        throws(ConfigError)
    {
        guard let (text, origin) = try raw(key, flag: flag) else { return }
        do { try rule(text) } catch { throw ConfigError(key: key, origin: origin, problem: error.message) }
    }
}

/// Sizes in bytes with binary suffixes.
enum ByteSize {
    static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingSpaces()
        let units: [(String, Int64)] = [
            ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("GB", 1_000_000_000), ("MB", 1_000_000),
            ("KB", 1000), ("B", 1),
        ]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(String(trimmed.dropLast(suffix.count)).trimmingSpaces()), number >= 0 else { return nil }
            return Int64(number * Double(scale))
        }
        return Int64(trimmed)
    }
}
