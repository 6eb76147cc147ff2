import Foundation
import OutpostCore

/// A target as the console's form spells it: tags and agent types comma separated,
/// the environment one `KEY=value` per line, secret references as rows of provider,
/// path and `ENV=key` mapping. Turns the form into a `Target` (the hub then checks it
/// as the API does) and a target back into the form's values.
struct ConsoleTargetForm: Sendable, Equatable {
    var name = ""
    var integration = "bash"
    var tags = ""
    var agentTypes = ""
    var timeout = ""
    var env = ""
    var secrets: [Row] = []

    struct Row: Sendable, Equatable {
        var provider = ""
        var path = ""
        var mapping = ""
    }

    /// Empty rows the form offers for new references.
    static let spareRows = 3

    init() {}

    init(target: Target) {
        name = target.name
        integration = target.integration
        tags = target.tags.description
        agentTypes = target.agentTypes.joined(separator: ",")
        timeout = target.timeoutSeconds.map(String.init) ?? ""
        env = target.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        secrets = target.secrets.map { reference in
            Row(
                provider: reference.provider, path: reference.path,
                mapping: reference.mapping.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        }
    }

    init(form: ConsoleForm) {
        name = form["name"]?.trimmingCharacters(in: .whitespaces) ?? ""
        integration = form.text("integration_custom") ?? form.text("integration") ?? ""
        tags = form["tags"] ?? ""
        agentTypes = form["agent_types"] ?? ""
        timeout = form["timeout"] ?? ""
        env = form["env"] ?? ""
        let providers = form.all("secret_provider")
        let paths = form.all("secret_path")
        let mappings = form.all("secret_mapping")
        secrets = providers.indices.map { index in
            Row(
                provider: providers[index].trimmingCharacters(in: .whitespaces),
                path: index < paths.count ? paths[index].trimmingCharacters(in: .whitespaces) : "",
                mapping: index < mappings.count ? mappings[index] : "")
        }
    }

    /// The target these values describe; a malformed line or row is a 400 naming it.
    func target() throws -> Target {
        var seconds: Int?
        let trimmedTimeout = timeout.trimmingCharacters(in: .whitespaces)
        if !trimmedTimeout.isEmpty {
            guard let value = Int(trimmedTimeout) else {
                throw HubError.invalid("timeout: write a whole number of seconds, or leave it empty for the hub's default")
            }
            seconds = value
        }
        return Target(
            name: name, integration: integration, tags: TagSet(commaSeparated: tags),
            agentTypes: Self.list(agentTypes), env: try environment(), secrets: try references(), timeoutSeconds: seconds)
    }

    private func environment() throws -> [String: String] {
        var out: [String: String] = [:]
        // Browsers post textarea lines with CRLF, which Swift counts as one newline character.
        for (number, text) in env.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            guard let equals = text.firstIndex(of: "=") else {
                throw HubError.invalid("env: line \(number + 1) is not KEY=value")
            }
            let key = text[..<equals].trimmingCharacters(in: .whitespaces)
            guard out[key] == nil else { throw HubError.invalid("env: \(key) is set twice (line \(number + 1))") }
            out[key] = String(text[text.index(after: equals)...])
        }
        return out
    }

    private func references() throws -> [SecretReference] {
        var out: [SecretReference] = []
        for (index, row) in secrets.enumerated() {
            if row.provider.isEmpty && row.path.isEmpty && row.mapping.trimmingCharacters(in: .whitespaces).isEmpty {
                continue
            }
            guard !row.provider.isEmpty, !row.path.isEmpty else {
                throw HubError.invalid("secrets: row \(index + 1) needs both a provider and a path")
            }
            var mapping: [String: String] = [:]
            for pair in Self.list(row.mapping) {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else {
                    throw HubError.invalid("secrets: row \(index + 1)'s mapping \"\(pair)\" is not ENV=key")
                }
                mapping[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
            }
            out.append(SecretReference(provider: row.provider, path: row.path, mapping: mapping))
        }
        return out
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
