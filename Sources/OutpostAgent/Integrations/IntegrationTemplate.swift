import Foundation

/// The small template language of integration recipes.
///
/// | placeholder | becomes |
/// |---|---|
/// | `{script}` | the absolute path of the task's script file |
/// | `{file:NAME}` | the absolute path of the recipe's file `NAME` (written 0600, deleted with the task) |
/// | `{env:NAME}` | the value of the task's environment variable `NAME` (empty when unset) |
/// | `{url:NAME:PART}` | one part of the URL in variable `NAME` (`user`, `password`, `host`, `port`, `path` without its leading `/`, or `query.KEY`), percent-decoded; empty when absent |
/// | `{{` | a literal `{` |
///
/// A template with `{env:...}` placeholders that all come out empty is left out
/// (an argument like `--namespace={env:K8S_NAMESPACE}`, a variable, or — in
/// files — a line like `port={env:MYSQL_PORT}`), so optional settings need no
/// conditionals.
///
/// Arguments may use `{env:NAME}` only for variables that do not come from a
/// secret: a command line is visible to every user of the machine (`ps`), so
/// credentials reach programs through their environment or a 0600 file only.
package struct IntegrationTemplate: Sendable, Equatable {
    package enum Part: Sendable, Equatable {
        case literal(String)
        case script
        case file(String)
        case environment(String)
        case urlPart(variable: String, part: String)
    }

    package let parts: [Part]

    /// Parses `text`.
    /// - Throws: `ValidationError`-style text naming the bad placeholder.
    package init(_ text: String) throws(IntegrationError) {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            let afterOpen = rest.index(after: open)
            if afterOpen < rest.endIndex, rest[afterOpen] == "{" {
                literal += "{"
                rest = rest[rest.index(after: afterOpen)...]
                continue
            }
            guard let close = rest[afterOpen...].firstIndex(of: "}") else {
                throw IntegrationError("\"\(text)\" has a \"{\" without its \"}\" (write {{ for a literal brace)")
            }
            let name = rest[afterOpen..<close]
            if !literal.isEmpty {
                parts.append(.literal(literal))
                literal = ""
            }
            if name == "script" {
                parts.append(.script)
            } else if name.hasPrefix("file:"), Self.isName(name.dropFirst(5)) {
                parts.append(.file(String(name.dropFirst(5))))
            } else if name.hasPrefix("env:"), Self.isName(name.dropFirst(4)) {
                parts.append(.environment(String(name.dropFirst(4))))
            } else if name.hasPrefix("url:"), let colon = name.dropFirst(4).firstIndex(of: ":"),
                Self.isName(name[name.index(name.startIndex, offsetBy: 4)..<colon]),
                URLParts.isPart(name[name.index(after: colon)...])
            {
                parts.append(
                    .urlPart(
                        variable: String(name[name.index(name.startIndex, offsetBy: 4)..<colon]),
                        part: String(name[name.index(after: colon)...])))
            } else {
                throw IntegrationError(
                    "\"{\(name)}\" in \"\(text)\" is not a placeholder; use {script}, {file:NAME}, {env:NAME} or {url:NAME:PART}")
            }
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// Variables the template reads.
    package var environmentNames: [String] {
        parts.compactMap { part in
            switch part {
            case .environment(let name), .urlPart(let name, _): name
            default: nil
            }
        }
    }

    /// Passwords it cuts out of secret URLs (`{url:DATABASE_URL:password}`): new
    /// secret values the log must mask as well. The other parts (user, host,
    /// database) are not masked on their own: words like `postgres` would vanish
    /// from every log line.
    package func secretURLParts(_ values: IntegrationValues, secretVariables: Set<String>) -> [String] {
        parts.compactMap { part in
            guard case .urlPart(let name, "password") = part, secretVariables.contains(name) else { return nil }
            let value = URLParts.part("password", of: values.environment[name] ?? "")
            return value.isEmpty ? nil : value
        }
    }

    /// Files the template refers to.
    package var fileNames: [String] {
        parts.compactMap { if case .file(let name) = $0 { name } else { nil } }
    }

    /// The text with every placeholder filled in; `nil` when it refers to a file
    /// that was not written (its condition was not met), or when all its
    /// `{env:...}` placeholders are empty: the caller leaves it out.
    package func expand(_ values: IntegrationValues) -> String? {
        var variableParts: [String] = []
        var text = ""
        for part in parts {
            switch part {
            case .literal(let literal): text += literal
            case .script: text += values.scriptPath
            case .file(let name):
                guard let path = values.files[name] else { return nil }
                text += path
            case .environment(let name):
                let value = values.environment[name] ?? ""
                variableParts.append(value)
                text += value
            case .urlPart(let name, let part):
                let value = URLParts.part(part, of: values.environment[name] ?? "")
                variableParts.append(value)
                text += value
            }
        }
        if !variableParts.isEmpty, variableParts.allSatisfy(\.isEmpty) { return nil }
        return text
    }

    private static func isName(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
    }
}

extension IntegrationTemplate {
    /// A file's content: each line is a template of its own, left out when all its
    /// `{env:...}` placeholders are empty.
    package static func expandLines(of text: String, _ values: IntegrationValues) throws(IntegrationError) -> String {
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let expanded = try IntegrationTemplate(String(line)).expand(values) { lines.append(expanded) }
        }
        return lines.joined(separator: "\n")
    }
}

/// Parts of a connection URL (`postgres://user:pass@host:5432/db?sslmode=require`).
enum URLParts {
    static func isPart(_ part: Substring) -> Bool {
        ["user", "password", "host", "port", "path"].contains(part) || (part.hasPrefix("query.") && part.count > 6)
    }

    /// The part, percent-decoded; empty when the URL or the part is absent.
    static func part(_ part: String, of text: String) -> String {
        guard !text.isEmpty, let components = URLComponents(string: text) else { return "" }
        switch part {
        case "user": return components.user ?? ""
        case "password": return components.password ?? ""
        case "host": return components.host ?? ""
        case "port": return components.port.map(String.init) ?? ""
        case "path": return String(components.path.drop(while: { $0 == "/" }))
        default:
            let key = String(part.dropFirst("query.".count))
            return components.queryItems?.first { $0.name == key }?.value ?? ""
        }
    }
}

/// What templates are filled with for one task.
package struct IntegrationValues: Sendable {
    package var scriptPath: String
    /// File name → absolute path, for the files that were written.
    package var files: [String: String]
    /// The task's environment (target variables and resolved secrets included).
    package var environment: [String: String]

    package init(scriptPath: String, files: [String: String], environment: [String: String]) {
        self.scriptPath = scriptPath
        self.files = files
        self.environment = environment
    }
}

/// A recipe that cannot be used: a bad template, or a run that would put a secret in argv.
package struct IntegrationError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
