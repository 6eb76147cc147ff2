import OutpostAgent

/// The agent's `integrations:` section: extra recipes, or replacements of
/// built-in ones, with the same fields as the built-ins (docs/integrations.md).
///
/// ```yaml
/// integrations:
///   - name: psql-readonly
///     program: psql
///     arguments: ["-X", "-v", "ON_ERROR_STOP=1", "-f", "{script}"]
///     script_file: script.sql
///     environment: {PGOPTIONS: "-c default_transaction_read_only=on"}
///     reads: [PGHOST, PGUSER, PGPASSWORD, PGDATABASE]
/// ```
enum IntegrationsSettings {
    static let keys: Set<String> = [
        "name", "program", "arguments", "script", "script_file", "environment", "files", "reads", "requires", "tools",
        "summary", "output",
    ]
    static let fileKeys: Set<String> = ["name", "content", "only_if_set"]

    /// The configured recipes, in file order; each validated.
    static func resolve(file: ConfigFile?) throws(ConfigError) -> [Integration] {
        guard let file, let section = file["integrations"] else { return [] }
        let reader = Reader(path: file.path)
        if case .null = section { return [] }
        guard case .list(let items, _) = section else {
            throw reader.error("integrations", section, "expected a list of integrations (- name: ..., program: ...)")
        }
        var integrations: [Integration] = []
        for (index, item) in items.enumerated() {
            let integration = try reader.integration(item, key: "integrations[\(index)]")
            if integrations.contains(where: { $0.name == integration.name }) {
                throw reader.error("integrations[\(index)].name", item, "integration \(integration.name) is defined twice")
            }
            integrations.append(integration)
        }
        return integrations
    }

    /// Reads values, naming the key and the file line in every error.
    private struct Reader {
        let path: String

        func error(_ key: String, _ value: ConfigFile.Value, _ problem: String) -> ConfigError {
            ConfigError(key: key, origin: .file(path: path, line: value.line), problem: problem)
        }

        func integration(_ value: ConfigFile.Value, key: String) throws(ConfigError) -> Integration {
            let fields = try map(value, key: key, known: keys)
            func field(_ name: String) -> ConfigFile.Value? { fields.first { $0.key == name }?.value }
            guard let name = try field("name").map({ value throws(ConfigError) in try scalar(value, key: "\(key).name") }) else {
                throw error(key, value, "an integration needs a name")
            }
            guard let program = try field("program").map({ value throws(ConfigError) in try scalar(value, key: "\(key).program") })
            else {
                throw error(key, value, "integration \(name) needs a program")
            }
            let delivery = try choice(field("script"), key: "\(key).script", default: Integration.ScriptDelivery.fileArgument)
            let output = try choice(field("output"), key: "\(key).output", default: Integration.OutputFormat.text)
            let integration = Integration(
                name: name, program: program,
                arguments: try field("arguments").map { value throws(ConfigError) in try list(value, key: "\(key).arguments") }
                    ?? (delivery == .fileArgument ? [Integration.scriptPathPlaceholder] : []),
                scriptFileName: try field("script_file").map { value throws(ConfigError) in
                    try scalar(value, key: "\(key).script_file")
                } ?? "script",
                scriptDelivery: delivery,
                environment: try field("environment").map { value throws(ConfigError) in
                    try stringMap(value, key: "\(key).environment")
                } ?? [:],
                files: try field("files").map { value throws(ConfigError) in try files(value, key: "\(key).files") } ?? [],
                reads: try field("reads").map { value throws(ConfigError) in try list(value, key: "\(key).reads") } ?? [],
                summary: try field("summary").map { value throws(ConfigError) in try scalar(value, key: "\(key).summary") } ?? "",
                requires: try field("requires").map { value throws(ConfigError) in try list(value, key: "\(key).requires") } ?? [],
                tools: try field("tools").map { value throws(ConfigError) in try list(value, key: "\(key).tools") } ?? [],
                output: output)
            do {
                try integration.validate()
            } catch {
                throw self.error(key, value, error.message)
            }
            return integration
        }

        /// One of an enumeration's spellings, or `fallback` when the key is absent.
        private func choice<Choice: RawRepresentable & CaseIterable>(
            _ value: ConfigFile.Value?, key: String, default fallback: Choice
        ) throws(ConfigError) -> Choice where Choice.RawValue == String {
            guard let value else { return fallback }
            let text = try scalar(value, key: key)
            guard let parsed = Choice(rawValue: text) else {
                let spellings = Choice.allCases.map(\.rawValue).joined(separator: " or ")
                throw error(key, value, "expected \(spellings), got \"\(text)\"")
            }
            return parsed
        }

        private func files(_ value: ConfigFile.Value, key: String) throws(ConfigError) -> [IntegrationFile] {
            guard case .list(let items, _) = value else { throw error(key, value, "expected a list of files") }
            var files: [IntegrationFile] = []
            for (index, item) in items.enumerated() {
                let itemKey = "\(key)[\(index)]"
                let fields = try map(item, key: itemKey, known: fileKeys)
                func field(_ name: String) throws(ConfigError) -> String? {
                    guard let value = fields.first(where: { $0.key == name })?.value else { return nil }
                    return try scalar(value, key: "\(itemKey).\(name)")
                }
                guard let name = try field("name"), let content = try field("content") else {
                    throw error(itemKey, item, "a file needs a name and a content")
                }
                files.append(IntegrationFile(name: name, content: content, onlyIfSet: try field("only_if_set")))
            }
            return files
        }

        /// A mapping's entries; with `known`, any other key is an error.
        private func map(_ value: ConfigFile.Value, key: String, known: Set<String>?) throws(ConfigError)
            -> [(key: String, value: ConfigFile.Value)]
        {
            guard case .map(let entries, _) = value else { throw error(key, value, "expected a mapping") }
            guard let known else { return entries }
            for entry in entries where !known.contains(entry.key) {
                throw error(
                    "\(key).\(entry.key)", entry.value, "unknown key; known keys are \(known.sorted().joined(separator: ", "))")
            }
            return entries
        }

        private func scalar(_ value: ConfigFile.Value, key: String) throws(ConfigError) -> String {
            guard case .scalar(let text, _) = value else { throw error(key, value, "expected a single value, found \(value.kindName)") }
            return text
        }

        private func list(_ value: ConfigFile.Value, key: String) throws(ConfigError) -> [String] {
            guard case .list(let items, _) = value else { throw error(key, value, "expected a list, found \(value.kindName)") }
            var texts: [String] = []
            for item in items { texts.append(try scalar(item, key: key)) }
            return texts
        }

        private func stringMap(_ value: ConfigFile.Value, key: String) throws(ConfigError) -> [String: String] {
            let entries = try map(value, key: key, known: nil)
            var result: [String: String] = [:]
            for entry in entries { result[entry.key] = try scalar(entry.value, key: "\(key).\(entry.key)") }
            return result
        }
    }
}
