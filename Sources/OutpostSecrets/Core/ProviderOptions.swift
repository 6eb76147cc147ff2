import OutpostCore

/// The options of one configured provider, as the agent's config file and
/// environment gave them, with typed getters whose errors name the key and
/// where it was set (`agent.yaml:14: secrets.providers[aws].region: ...`).
///
/// Environment overrides: `OUTPOST_AGENT_SECRETS_<NAME>_<KEY>` (the provider's
/// name upper-cased, `-` and `.` as `_`); a nested key such as `auth.role` is
/// `..._AUTH_ROLE`. The CLI collects them; this type applies them.
package struct ProviderOptions: Sendable {
    package indirect enum Value: Sendable, Equatable {
        case string(String)
        case map([String: Value])
        case list([Value])
    }

    /// Values from the config file.
    package var values: [String: Value]
    /// Where each file key was set (`agent.yaml:14`), for messages.
    package var origins: [String: String]
    /// Overrides from the environment: lower-cased key path with `_` (`auth_role`) → value.
    package var overrides: [String: String]
    /// `secrets.providers[aws]` or `secrets.providers[vault].auth`, for messages.
    package var context: String
    /// Prefix of this section's keys in `overrides` (`""`, or `auth_` for a nested section).
    package var overridePrefix: String
    /// The environment variable prefix, for messages (`OUTPOST_AGENT_SECRETS_AWS_`).
    package var environmentPrefix: String

    package init(
        values: [String: Value], origins: [String: String] = [:], overrides: [String: String] = [:],
        context: String, environmentPrefix: String = "", overridePrefix: String = ""
    ) {
        self.values = values
        self.origins = origins
        self.overrides = overrides
        self.context = context
        self.environmentPrefix = environmentPrefix
        self.overridePrefix = overridePrefix
    }

    /// Options every provider has; handled by the agent, not the provider.
    package static let commonKeys: Set<String> = ["name", "type", "cache_ttl", "timeout", "max_retries"]

    // MARK: Typed getters

    /// A plain value, or `nil` when unset. The environment wins over the file.
    package func string(_ key: String) throws(SecretError) -> String? {
        if let override = overrides[overridePrefix + key] { return override }
        switch values[key] {
        case nil: return nil
        case .string(let text): return text
        case .map, .list: throw invalid(key, "expected a single value")
        }
    }

    package func require(_ key: String) throws(SecretError) -> String {
        guard let value = try string(key), !value.isEmpty else { throw invalid(key, "required") }
        return value
    }

    package func int(_ key: String, in range: ClosedRange<Int>) throws(SecretError) -> Int? {
        guard let text = try string(key) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw invalid(key, "expected a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    package func bool(_ key: String) throws(SecretError) -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw invalid(key, "expected true or false, got \"\(text)\"")
        }
    }

    package func duration(_ key: String) throws(SecretError) -> Duration? {
        guard let text = try string(key) else { return nil }
        do {
            let seconds = try DurationParser.seconds(text)
            return .milliseconds(Int64((seconds * 1000).rounded()))
        } catch {
            throw invalid(key, error.message)
        }
    }

    /// An `http://` or `https://` URL without a trailing slash.
    package func url(_ key: String) throws(SecretError) -> String? {
        guard var text = try string(key) else { return nil }
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), text.count > 8 else {
            throw invalid(key, "expected an http:// or https:// URL, got \"\(text)\"")
        }
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// A list of plain values (a YAML list, or comma-separated text).
    package func stringList(_ key: String) throws(SecretError) -> [String]? {
        if let override = overrides[overridePrefix + key] {
            return override.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        }
        switch values[key] {
        case nil: return nil
        case .string(let text): return text.split(separator: ",").map { String($0).trimmingSpaces() }
        case .list(let items):
            var result: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw invalid(key, "expected a list of plain values") }
                result.append(text)
            }
            return result
        case .map: throw invalid(key, "expected a list")
        }
    }

    /// A nested mapping such as `auth: {method: approle, ...}`; `nil` when neither
    /// the file nor the environment sets any of its keys.
    package func section(_ key: String) throws(SecretError) -> ProviderOptions? {
        let prefix = overridePrefix + key + "_"
        let hasOverrides = overrides.keys.contains { $0.hasPrefix(prefix) }
        var nested: [String: Value] = [:]
        switch values[key] {
        case nil: if !hasOverrides { return nil }
        case .map(let map): nested = map
        case .string, .list: throw invalid(key, "expected a mapping of key: value")
        }
        var origins: [String: String] = [:]
        for nestedKey in nested.keys { origins[nestedKey] = self.origins[key] }
        return ProviderOptions(
            values: nested, origins: origins, overrides: overrides, context: "\(context).\(key)",
            environmentPrefix: environmentPrefix + key.uppercased() + "_", overridePrefix: prefix)
    }

    /// Refuses keys the provider does not know (typos must not fall back to defaults).
    package func rejectUnknownKeys(allowed: Set<String>) throws(SecretError) {
        let known = allowed.union(overridePrefix.isEmpty ? Self.commonKeys : [])
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw invalid(unknown, "unknown option; known options are \(known.sorted().joined(separator: ", "))")
        }
    }

    /// An invalid-configuration error naming where the key was set.
    package func invalid(_ key: String, _ problem: String) -> SecretError {
        let location: String
        if overrides[overridePrefix + key] != nil {
            location = "environment variable \(environmentPrefix)\(key.uppercased()): "
        } else if let origin = origins[key] {
            location = "\(origin): "
        } else {
            location = ""
        }
        return SecretError(.invalidConfiguration, "\(location)\(context).\(key): \(problem)")
    }
}
