import OutpostSecrets

/// The agent's `secrets:` section: the provider list (each becomes
/// `ProviderOptions` with its environment overrides) and the masking settings.
///
/// ```yaml
/// secrets:
///   providers:
///     - {name: aws, type: aws-secrets-manager, region: us-east-1}
///   mask_env_suffixes: [TOKEN, KEY, SECRET, PASSWORD]
///   mask_min_length: 4
/// ```
struct SecretsSettings {
    /// One entry per configured provider, in file order.
    var providers: [ProviderOptions] = []
    /// Agent environment variables whose names end in one of these are masked in every log
    /// (`mask_env_suffixes`, default TOKEN, KEY, SECRET, PASSWORD).
    var maskEnvironmentSuffixes = ["TOKEN", "KEY", "SECRET", "PASSWORD"]
    /// Values shorter than this are not masked; the agent warns naming them (`mask_min_length`, default 4).
    var maskMinimumLength = 4

    static let keys: Set<String> = ["providers", "mask_env_suffixes", "mask_min_length"]
    static let environmentPrefix = "OUTPOST_AGENT_SECRETS_"

    static func resolve(file: ConfigFile?, environment: [String: String]) throws(ConfigError) -> SecretsSettings {
        var settings = SecretsSettings()
        let path = file?.path ?? "config"
        var section: [(key: String, value: ConfigFile.Value)] = []
        if let value = file?["secrets"] {
            switch value {
            case .map(let entries, _): section = entries
            case .null: break
            default:
                throw ConfigError(key: "secrets", origin: .file(path: path, line: value.line), problem: "expected a mapping")
            }
        }
        for entry in section where !keys.contains(entry.key) {
            throw ConfigError(
                key: "secrets.\(entry.key)", origin: .file(path: path, line: entry.value.line),
                problem: "unknown key; known keys are \(keys.sorted().joined(separator: ", "))")
        }
        func value(_ key: String) -> ConfigFile.Value? { section.first { $0.key == key }?.value }

        if let text = environment[environmentPrefix + "MASK_ENV_SUFFIXES"] {
            settings.maskEnvironmentSuffixes = text.split(separator: ",").map { String($0).uppercased() }
        } else if let suffixes = value("mask_env_suffixes") {
            guard case .list(let items, _) = suffixes else {
                throw ConfigError(
                    key: "secrets.mask_env_suffixes", origin: .file(path: path, line: suffixes.line),
                    problem: "expected a list such as [TOKEN, KEY, SECRET, PASSWORD]")
            }
            settings.maskEnvironmentSuffixes = items.compactMap {
                if case .scalar(let text, _) = $0 { return text.uppercased() }
                return nil
            }
        }
        let minimumName = environmentPrefix + "MASK_MIN_LENGTH"
        if let text = environment[minimumName] ?? scalar(value("mask_min_length")) {
            guard let minimum = Int(text), (1...1024).contains(minimum) else {
                let origin: ConfigOrigin =
                    environment[minimumName] != nil
                    ? .environment(minimumName) : .file(path: path, line: value("mask_min_length")?.line ?? 1)
                throw ConfigError(key: "secrets.mask_min_length", origin: origin, problem: "expected a whole number from 1 to 1024")
            }
            settings.maskMinimumLength = minimum
        }

        if let list = value("providers") {
            guard case .list(let items, _) = list else {
                throw ConfigError(
                    key: "secrets.providers", origin: .file(path: path, line: list.line),
                    problem: "expected a list of providers, each `- name: ...` with a `type:`")
            }
            var names = Set<String>()
            for item in items {
                let options = try providerOptions(item, path: path, environment: environment)
                let name = try? options.require("name")
                guard let name, names.insert(name).inserted else {
                    throw ConfigError(
                        key: "secrets.providers", origin: .file(path: path, line: item.line),
                        problem: name == nil ? "every provider needs a name" : "two providers are named \"\(name!)\"")
                }
                settings.providers.append(options)
            }
        }
        return settings
    }

    private static func scalar(_ value: ConfigFile.Value?) -> String? {
        if case .scalar(let text, _)? = value { return text }
        return nil
    }

    /// One `- name: ...` item as provider options, with its environment overrides.
    private static func providerOptions(
        _ item: ConfigFile.Value, path: String, environment: [String: String]
    ) throws(ConfigError) -> ProviderOptions {
        guard case .map(let entries, let line) = item else {
            throw ConfigError(
                key: "secrets.providers", origin: .file(path: path, line: item.line),
                problem: "each provider is a mapping with at least name and type")
        }
        var values: [String: ProviderOptions.Value] = [:]
        var origins: [String: String] = [:]
        for entry in entries {
            if let converted = convert(entry.value) { values[entry.key] = converted }
            origins[entry.key] = "\(path):\(entry.value.line)"
        }
        let name: String
        if case .string(let text)? = values["name"] { name = text } else { name = "" }
        let envPrefix = environmentPrefix + environmentSpelling(name) + "_"
        var overrides: [String: String] = [:]
        for (key, value) in environment where key.hasPrefix(envPrefix) && !name.isEmpty {
            overrides[String(key.dropFirst(envPrefix.count)).lowercased()] = value
        }
        _ = line
        return ProviderOptions(
            values: values, origins: origins, overrides: overrides, context: "secrets.providers[\(name)]",
            environmentPrefix: envPrefix)
    }

    /// `my-vault.eu` → `MY_VAULT_EU`.
    static func environmentSpelling(_ name: String) -> String {
        String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    private static func convert(_ value: ConfigFile.Value) -> ProviderOptions.Value? {
        switch value {
        case .scalar(let text, _): return .string(text)
        case .null: return nil
        case .list(let items, _): return .list(items.compactMap(convert))
        case .map(let entries, _):
            var map: [String: ProviderOptions.Value] = [:]
            for entry in entries { if let v = convert(entry.value) { map[entry.key] = v } }
            return .map(map)
        }
    }
}
