import Foundation
import OutpostSecrets

/// The credentials the agent's secret providers were configured with (a Vault
/// token, an Azure client secret, an HTTP store's API key, the private key of a GCP
/// key file...), so that every task's log masks them: a task running as the agent's
/// user can read the config file and those files.
///
/// A provider option is a credential when its name, upper-cased, ends in one of the
/// masking suffixes (`TOKEN`, `KEY`, `SECRET`, `PASSWORD` by default) or in `SECRET_ID`,
/// or it is the `value` of a `header`. An option naming such a credential's file
/// (`token_file`, `secret_id_file`, `key_file`, `header.value_file`) adds what the file
/// holds now: its text, or for a JSON file the values of its credential keys
/// (`private_key` of a GCP key file). A file the agent cannot read adds nothing here;
/// the provider reports that itself when it needs the file.
enum ProviderCredentials {
    static func values(of settings: SecretsSettings) -> [NamedSecretValue] {
        let suffixes = settings.maskEnvironmentSuffixes.map { $0.uppercased() }.filter { !$0.isEmpty } + ["SECRET_ID"]
        var found: [NamedSecretValue] = []
        for options in settings.providers {
            collect(.map(options.values), path: [], context: options.context, suffixes: suffixes, into: &found)
            for (key, value) in options.overrides.sorted(by: { $0.key < $1.key }) {
                collect(.string(value), path: [key], context: options.context, suffixes: suffixes, into: &found)
            }
        }
        return found
    }

    private static func collect(
        _ value: ProviderOptions.Value, path: [String], context: String, suffixes: [String],
        into found: inout [NamedSecretValue]
    ) {
        switch value {
        case .map(let entries):
            for (key, child) in entries.sorted(by: { $0.key < $1.key }) {
                collect(child, path: path + [key], context: context, suffixes: suffixes, into: &found)
            }
        case .list(let items):
            for (index, child) in items.enumerated() {
                collect(child, path: path + ["\(index)"], context: context, suffixes: suffixes, into: &found)
            }
        case .string(let text):
            guard let key = path.last, !text.isEmpty else { return }
            let name = "\(context).\(path.joined(separator: "."))"
            let upper = key.uppercased()
            let inHeader = path.dropLast().last?.lowercased() == "header"
            if isCredential(upper, suffixes) || (inHeader && upper == "VALUE") {
                found.append(NamedSecretValue(name: name, value: text))
            } else if upper.hasSuffix("_FILE"),
                isCredential(String(upper.dropLast(5)), suffixes) || (inHeader && upper == "VALUE_FILE")
            {
                found += fileValues(at: text, name: name, suffixes: suffixes)
            }
        }
    }

    private static func isCredential(_ upperKey: String, _ suffixes: [String]) -> Bool {
        suffixes.contains { upperKey.hasSuffix($0) }
    }

    /// What a credential file holds: the credential keys of a JSON object, else the trimmed text.
    private static func fileValues(at path: String, name: String, suffixes: [String]) -> [NamedSecretValue] {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else { return [] }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            return object.keys.sorted().compactMap { key in
                guard isCredential(key.uppercased(), suffixes), let text = object[key] as? String, !text.isEmpty else { return nil }
                return NamedSecretValue(name: "\(name)#\(key)", value: text)
            }
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? [] : [NamedSecretValue(name: name, value: text)]
    }
}
