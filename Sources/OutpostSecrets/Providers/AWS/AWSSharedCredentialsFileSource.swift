import Foundation

/// A profile of the shared credentials file (`~/.aws/credentials`, or
/// `AWS_SHARED_CREDENTIALS_FILE`, or the `shared_credentials_file` option):
/// `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`.
///
/// A file or profile named explicitly (option or environment) must exist; the
/// defaults (`~/.aws/credentials`, profile `default`) may be absent.
struct AWSSharedCredentialsFileSource: AWSCredentialSource {
    var path: String
    var profile: String
    /// Whether the file was named explicitly (its absence is an error).
    var explicitPath: Bool
    /// Whether the profile was named explicitly (its absence is an error).
    var explicitProfile: Bool

    var label: String { "shared file" }

    /// - Parameters: `path`/`profile` from the provider's options, when set.
    init(path: String?, profile: String?, environment: [String: String]) {
        let envPath = environment["AWS_SHARED_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let envProfile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        self.path = Self.expandTilde(path ?? envPath ?? "~/.aws/credentials", home: home)
        self.profile = profile ?? envProfile ?? "default"
        explicitPath = path != nil || envPath != nil
        explicitProfile = profile != nil || envProfile != nil
    }

    func resolve() async throws(SecretError) -> AWSCredentialResolution {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read \(path)" : "no file \(path)"
            if explicitPath { throw SecretError(.denied, reason) }
            return .notAvailable(reason)
        }
        guard let section = Self.parse(text)[profile] else {
            let reason = "no profile [\(profile)] in \(path)"
            if explicitProfile { throw SecretError(.denied, reason) }
            return .notAvailable(reason)
        }
        guard let keyID = section["aws_access_key_id"], !keyID.isEmpty,
            let secret = section["aws_secret_access_key"], !secret.isEmpty
        else {
            throw SecretError(
                .denied,
                "profile [\(profile)] in \(path) has no aws_access_key_id and aws_secret_access_key "
                    + "(profiles with role_arn are not read; use the assume_role_arn option)")
        }
        let token = section["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
        return .found(AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token))
    }

    /// INI sections → lower-cased keys → values. `[profile name]` counts as `[name]`;
    /// `#` and `;` start comments.
    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = name.dropFirst(8).trimmingCharacters(in: .whitespaces) }
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current, default: [:]][key] = value
        }
        return sections
    }

    static func expandTilde(_ path: String, home: String) -> String {
        path == "~" ? home : path.hasPrefix("~/") ? home + path.dropFirst(1) : path
    }
}
