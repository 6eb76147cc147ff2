/// The small template language of integration recipes.
///
/// | placeholder | becomes |
/// |---|---|
/// | `{script}` | the absolute path of the task's script file |
/// | `{file:NAME}` | the absolute path of the recipe's file `NAME` (written 0600, deleted with the task) |
/// | `{env:NAME}` | the value of the task's environment variable `NAME` (empty when unset) |
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
            } else {
                throw IntegrationError(
                    "\"{\(name)}\" in \"\(text)\" is not a placeholder; use {script}, {file:NAME} or {env:NAME}")
            }
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// Variables the template reads.
    package var environmentNames: [String] {
        parts.compactMap { if case .environment(let name) = $0 { name } else { nil } }
    }

    /// Files the template refers to.
    package var fileNames: [String] {
        parts.compactMap { if case .file(let name) = $0 { name } else { nil } }
    }

    /// The text with every placeholder filled in; `nil` when it refers to a file
    /// that was not written (its condition was not met), or when all its
    /// `{env:...}` placeholders are empty: the caller leaves it out.
    package func expand(_ values: IntegrationValues) -> String? {
        let names = environmentNames
        if !names.isEmpty, names.allSatisfy({ (values.environment[$0] ?? "").isEmpty }) { return nil }
        var text = ""
        for part in parts {
            switch part {
            case .literal(let literal): text += literal
            case .script: text += values.scriptPath
            case .file(let name):
                guard let path = values.files[name] else { return nil }
                text += path
            case .environment(let name): text += values.environment[name] ?? ""
            }
        }
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
