import Foundation
import Yams

/// A YAML configuration file read into plain values that remember their line,
/// so every error can name the key and the line it is on.
struct ConfigFile {
    /// One value of the file.
    indirect enum Value {
        case scalar(String, line: Int)
        case list([Value], line: Int)
        case map([(key: String, value: Value)], line: Int)
        case null(line: Int)

        var line: Int {
            switch self {
            case .scalar(_, let line), .list(_, let line), .map(_, let line), .null(let line): line
            }
        }

        var kindName: String {
            switch self {
            case .scalar: "a single value"
            case .list: "a list"
            case .map: "a mapping"
            case .null: "nothing"
            }
        }
    }

    /// The path as the user gave it (used in messages).
    let path: String
    /// Top-level keys in file order.
    let entries: [(key: String, value: Value)]

    /// Reads and parses `path`.
    /// - Throws: `ConfigError` naming the file and line for unreadable files, YAML
    ///   syntax errors, and a top level that is not a mapping.
    static func load(path: String) throws(ConfigError) -> ConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError("\(path): cannot read the configuration file: \(Self.reason(error))")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws(ConfigError) -> ConfigFile {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError("\(path):\(Self.line(of: error)): not valid YAML: \(Self.summary(of: error))")
        } catch {
            throw ConfigError("\(path): not valid YAML: \(error)")
        }
        guard let node else { return ConfigFile(path: path, entries: []) }
        guard case .map(let entries, _) = convert(node) else {
            throw ConfigError("\(path):\(node.mark?.line ?? 1): the configuration must be a mapping of key: value lines")
        }
        var seen = Set<String>()
        for entry in entries where !seen.insert(entry.key).inserted {
            throw ConfigError("\(path):\(entry.value.line): \(entry.key): the key appears twice")
        }
        return ConfigFile(path: path, entries: entries)
    }

    subscript(key: String) -> Value? {
        entries.first(where: { $0.key == key })?.value
    }

    private static func convert(_ node: Node) -> Value {
        let line = node.mark?.line ?? 1
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return .null(line: line)
            }
            return .scalar(scalar.string, line: line)
        case .sequence(let sequence):
            return .list(sequence.map(convert), line: line)
        case .mapping(let mapping):
            return .map(mapping.map { (key: $0.key.string ?? "\($0.key)", value: convert($0.value)) }, line: line)
        case .alias:
            return .null(line: line)
        }
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return 1
        }
    }

    private static func summary(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return problem
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "syntax error"
        }
    }

    private static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain, ns.code == NSFileReadNoSuchFileError { return "no such file" }
        if ns.domain == NSCocoaErrorDomain, ns.code == NSFileReadNoPermissionError { return "permission denied" }
        return ns.localizedDescription
    }
}
