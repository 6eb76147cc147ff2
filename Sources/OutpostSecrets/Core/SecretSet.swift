import Foundation
import Logging
package import OutpostCore

/// The agent's configured providers, resolving targets' secret references into
/// environment variables for one task (`SecretResolver`).
package struct SecretSet: SecretResolver {
    package let providers: [String: ManagedProvider]

    package init(providers: [ManagedProvider]) {
        var byName: [String: ManagedProvider] = [:]
        for provider in providers { byName[provider.name] = provider }
        self.providers = byName
    }

    /// `name:type` pairs sorted by name: the layout, never credentials.
    package var providerFingerprint: String {
        providers.values.map { "\($0.name):\($0.type)" }.sorted().joined(separator: ",")
    }

    /// Every provider's held values, sorted by provider name.
    package var heldValues: [NamedSecretValue] {
        providers.values.sorted { $0.name < $1.name }.flatMap(\.heldValues)
    }

    package func resolve(_ references: [SecretReference]) async throws(SecretError) -> ResolvedSecrets {
        var resolved = ResolvedSecrets()
        for reference in references {
            guard let provider = providers[reference.provider] else {
                throw SecretError(
                    .providerNotConfigured,
                    "this agent has \(providers.isEmpty ? "no secret providers" : "providers \(providers.keys.sorted().joined(separator: ", "))"); add it to the agent's secrets.providers",
                    provider: reference.provider, path: reference.path)
            }
            let payload = try await provider.fetch(path: reference.path)
            do {
                let secret = try SecretContent(payload)
                let variables = try secret.variables(mapping: reference.mapping)
                for (name, value) in variables { resolved.environment[name] = value }
                let base = "\(reference.provider):\(reference.path)"
                resolved.valuesToMask.append(contentsOf: secret.namedValues.map {
                    NamedSecretValue(name: $0.key.isEmpty ? base : "\(base)#\($0.key)", value: $0.value)
                })
            } catch {
                throw error.with(provider: provider.name, type: provider.type, path: reference.path)
            }
        }
        return resolved
    }

    package func listNames(provider name: String?, prefix: String) async throws(SecretError) -> [SecretListingEntry] {
        let chosen: [ManagedProvider]
        if let name {
            guard let provider = providers[name] else {
                throw SecretError(
                    .providerNotConfigured,
                    "this agent has providers \(providers.keys.sorted().joined(separator: ", "))", provider: name)
            }
            chosen = [provider]
        } else {
            chosen = providers.values.sorted { $0.name < $1.name }
        }
        var entries: [SecretListingEntry] = []
        for provider in chosen {
            do {
                entries.append(SecretListingEntry(provider: provider.name, names: try await provider.list(prefix: prefix).sorted()))
            } catch {
                entries.append(SecretListingEntry(provider: provider.name, names: [], error: error.message))
            }
        }
        return entries
    }
}

/// A fetched secret split into what a task can use: a JSON object's keys, or one value.
struct SecretContent {
    enum Shape {
        case keyed([String: String])
        case single(String)
    }

    let shape: Shape

    init(_ payload: SecretPayload) throws(SecretError) {
        let text: String
        switch payload {
        case .text(let value): text = value
        case .binary(let bytes):
            guard let decoded = String(validating: bytes, as: UTF8.self) else {
                throw SecretError(.malformed, "the secret is binary and not UTF-8 text, so it cannot be an environment variable")
            }
            text = decoded
        }
        guard !text.utf8.contains(0) else {
            throw SecretError(.malformed, "the secret contains a NUL byte, which an environment variable cannot hold")
        }
        let trimmed = text.trimmingSpaces()
        if trimmed.hasPrefix("{") {
            guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)) else {
                throw SecretError(.malformed, "the secret starts with '{' but is not a valid JSON object")
            }
            shape = .keyed(object.mapValues(\.environmentText))
        } else {
            shape = .single(text)
        }
    }

    /// Every value of the secret by key (`""` for a single value), for the masker:
    /// also keys the task does not map.
    var namedValues: [(key: String, value: String)] {
        switch shape {
        case .keyed(let keyed): keyed.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        case .single(let value): [("", value)]
        }
    }

    /// Environment variables for `mapping` (variable → key; `""` = the whole value).
    func variables(mapping: [String: String]) throws(SecretError) -> [String: String] {
        var result: [String: String] = [:]
        switch shape {
        case .keyed(let keyed):
            if mapping.isEmpty {
                for (key, value) in keyed {
                    do { try Names.validateEnvironmentName(key) } catch {
                        throw SecretError(
                            .malformed, "the key is not a valid environment variable name; map it with --map NAME=\(key)",
                            key: key)
                    }
                    result[key] = value
                }
            }
            for (variable, key) in mapping {
                guard !key.isEmpty else {
                    throw SecretError(.malformed, "the secret is a JSON object; map one of its keys, e.g. --map \(variable)=KEY")
                }
                guard let value = keyed[key] else {
                    throw SecretError(
                        .notFound, "the secret has no such key (it has \(keyed.keys.sorted().joined(separator: ", ")))",
                        key: key)
                }
                result[variable] = value
            }
        case .single(let value):
            guard !mapping.isEmpty else {
                throw SecretError(.malformed, "the secret is a single value; name its variable with --map NAME")
            }
            for (variable, key) in mapping {
                guard key.isEmpty else {
                    throw SecretError(.malformed, "the secret is a single value, not a JSON object with keys", key: key)
                }
                result[variable] = value
            }
        }
        return result
    }
}

/// Any JSON value, to read secrets whose values are not all strings.
enum JSONValue: Decodable, Encodable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value as an environment variable holds it: strings as they are,
    /// numbers and booleans as written, null as empty, nested values as JSON.
    var environmentText: String {
        switch self {
        case .string(let value): return value
        case .integer(let value): return String(value)
        case .number(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return ""
        case .array, .object:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
    }
}
