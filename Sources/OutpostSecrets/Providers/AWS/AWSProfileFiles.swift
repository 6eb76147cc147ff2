import Foundation

/// The AWS CLI's and SDKs' two profile files, read the way botocore reads them:
///
/// - the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`): `[default]`,
///   `[profile NAME]`, `[sso-session NAME]`;
/// - the shared credentials file (`shared_credentials_file` option,
///   `AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`): `[NAME]`.
///
/// A profile is the union of its two sections; a key in the credentials file
/// wins over the same key in the config file (botocore's `full_config`).
struct AWSProfileFiles: Sendable, Equatable {
    /// Profile name → lower-cased key → value, of the config file.
    var configProfiles: [String: [String: String]] = [:]
    /// Profile name → lower-cased key → value, of the credentials file.
    var credentialsProfiles: [String: [String: String]] = [:]
    /// `[sso-session NAME]` sections of the config file.
    var ssoSessions: [String: [String: String]] = [:]
    /// Where they were read from (for messages).
    var configPath: String
    var credentialsPath: String

    /// Where the two files are, and which profile is meant.
    struct Location: Sendable, Equatable {
        var configPath: String
        var credentialsPath: String
        /// `profile` option, else `AWS_PROFILE`, else `default`.
        var profile: String
        /// Whether the profile was named (option or `AWS_PROFILE`): then it must exist.
        var explicitProfile: Bool
        /// Whether the credentials file was named (option or variable): then it must exist.
        var explicitCredentialsPath: Bool

        /// - Parameters: `credentialsPath`/`profile` from the provider's options, when set.
        init(credentialsPath: String?, profile: String?, environment: [String: String]) {
            func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
            let home = value("HOME") ?? NSHomeDirectory()
            let envCredentials = value("AWS_SHARED_CREDENTIALS_FILE")
            self.credentialsPath = AWSProfileFiles.expandTilde(
                credentialsPath ?? envCredentials ?? "~/.aws/credentials", home: home)
            self.configPath = AWSProfileFiles.expandTilde(value("AWS_CONFIG_FILE") ?? "~/.aws/config", home: home)
            self.profile = profile ?? value("AWS_PROFILE") ?? "default"
            explicitProfile = profile != nil || value("AWS_PROFILE") != nil
            explicitCredentialsPath = credentialsPath != nil || envCredentials != nil
        }
    }

    /// Reads both files; a missing or unreadable file counts as empty (see `credentialsFileProblem`).
    static func load(_ location: Location) -> AWSProfileFiles {
        var files = AWSProfileFiles(configPath: location.configPath, credentialsPath: location.credentialsPath)
        if let text = try? String(contentsOfFile: location.configPath, encoding: .utf8) {
            for (section, values) in parse(text) {
                if section == "default" {
                    // `[profile default]` wins over `[default]`, as in botocore.
                    files.configProfiles["default"] = files.configProfiles["default"] ?? values
                } else if let name = section.dropPrefix("profile") {
                    files.configProfiles[name] = values
                } else if let name = section.dropPrefix("sso-session") {
                    files.ssoSessions[name] = values
                }
            }
        }
        if let text = try? String(contentsOfFile: location.credentialsPath, encoding: .utf8) {
            for (section, values) in parse(text) {
                files.credentialsProfiles[section] = values
            }
        }
        return files
    }

    /// Why the credentials file cannot be read, if it cannot (`nil` when it can).
    static func credentialsFileProblem(_ path: String) -> String? {
        if FileManager.default.isReadableFile(atPath: path) { return nil }
        return FileManager.default.fileExists(atPath: path) ? "cannot read \(path)" : "no file \(path)"
    }

    /// One profile's keys from both files (the credentials file's win), or `nil` when neither has it.
    func profile(_ name: String) -> [String: String]? {
        switch (configProfiles[name], credentialsProfiles[name]) {
        case (nil, nil): return nil
        case (let config, let credentials):
            return (config ?? [:]).merging(credentials ?? [:]) { _, fromCredentials in fromCredentials }
        }
    }

    /// `FILE` or `FILE or FILE`, for "no profile [x] in ...".
    var describedPaths: String { "\(credentialsPath) or \(configPath)" }

    /// INI sections → lower-cased keys → values, as Python's `RawConfigParser`
    /// (which botocore uses) reads them: `#` and `;` start comment lines, `=`
    /// or `:` separate key and value, and an indented line continues the key
    /// above it. botocore reads such continuations as nested settings
    /// (`s3 =\n  addressing_style = path`); they are kept as `key.sub` so that
    /// they never shadow a profile's own keys.
    static func parse(_ text: String) -> [(String, [String: String])] {
        var sections: [(String, [String: String])] = []
        var index: [String: Int] = [:]
        var current: Int?
        var lastKey: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            let indented = rawLine.first == " " || rawLine.first == "\t"
            if indented, let current, let lastKey {
                // A nested setting of `lastKey`.
                guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
                let key = line[..<separator].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: separator)...].trimmingCharacters(in: .whitespaces)
                sections[current].1["\(lastKey).\(key)"] = value
                continue
            }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if let existing = index[name] {
                    current = existing
                } else {
                    index[name] = sections.count
                    current = sections.count
                    sections.append((name, [:]))
                }
                lastKey = nil
                continue
            }
            guard let current, let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            let key = line[..<separator].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            sections[current].1[key] = value
            lastKey = key
        }
        return sections
    }

    static func expandTilde(_ path: String, home: String) -> String {
        path == "~" ? home : path.hasPrefix("~/") ? home + path.dropFirst(1) : path
    }
}

extension String {
    /// `"profile dev"` → `"dev"` for prefix `"profile"`; `nil` when the word is not there.
    fileprivate func dropPrefix(_ word: String) -> String? {
        guard hasPrefix(word + " ") || hasPrefix(word + "\t") else { return nil }
        let rest = dropFirst(word.count).trimmingCharacters(in: .whitespaces)
        return rest.isEmpty ? nil : rest
    }
}

extension Dictionary where Key == String, Value == String {
    /// A non-empty value of `key`.
    func nonEmpty(_ key: String) -> String? {
        guard let value = self[key], !value.isEmpty else { return nil }
        return value
    }
}
