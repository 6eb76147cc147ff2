/// Name rules shared by the hub (which enforces them) and the CLI and agent
/// (which check early so the user gets the error before any network call).
package enum Names {
    /// Agent names: 8 to 80 characters of `[A-Za-z0-9._-]`.
    package static func validateAgentName(_ name: String) throws(ValidationError) {
        guard (8...80).contains(name.utf8.count) else {
            throw ValidationError(
                field: "name",
                message: "agent name \"\(name)\" must be 8 to 80 characters long (it has \(name.utf8.count))"
            )
        }
        guard name.utf8.allSatisfy(isNameByte) else {
            throw ValidationError(
                field: "name",
                message: "agent name \"\(name)\" may only contain letters, digits, '.', '_' and '-'"
            )
        }
    }

    /// Target and agent-type names: 1 to 64 characters of `[A-Za-z0-9._-]`, not starting with '.' or '-'.
    package static func validateResourceName(_ name: String, kind: String) throws(ValidationError) {
        guard (1...64).contains(name.utf8.count), name.utf8.allSatisfy(isNameByte),
            let first = name.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-")
        else {
            throw ValidationError(
                field: "name",
                message:
                    "\(kind) name \"\(name)\" must be 1 to 64 characters of letters, digits, '.', '_' and '-', not starting with '.' or '-'"
            )
        }
    }

    /// Tags: 1 to 64 characters of `[A-Za-z0-9._:=-]`.
    package static func validateTag(_ tag: String) throws(ValidationError) {
        guard (1...64).contains(tag.utf8.count),
            tag.utf8.allSatisfy({ isNameByte($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "=") })
        else {
            throw ValidationError(
                field: "tags",
                message: "tag \"\(tag)\" must be 1 to 64 characters of letters, digits, '.', '_', '-', ':' and '='"
            )
        }
    }

    /// Most tags one target or agent may carry.
    package static let maxTags = 32

    /// A tag set: at most `maxTags` tags, each valid.
    package static func validateTags(_ tags: TagSet) throws(ValidationError) {
        guard tags.tags.count <= maxTags else {
            throw ValidationError(
                field: "tags", message: "at most \(maxTags) tags are allowed (got \(tags.tags.count))")
        }
        for tag in tags.tags { try validateTag(tag) }
    }

    /// Most secret references one target may hold.
    package static let maxSecretReferences = 100
    /// Longest secret path (AWS allows 512, Vault paths and GCP resource names stay far below).
    package static let maxSecretPathBytes = 1024

    /// A secret reference: the provider is named like any other resource (the names of
    /// `secrets.providers` on the agent), the path is 1 to 1024 bytes without control
    /// characters (no NUL, no newline: it ends up in URLs and log lines), and mapping
    /// keys are environment variable names mapped to key names of at most 256 bytes
    /// (empty: the whole single-value secret).
    package static func validateSecretReference(_ secret: SecretReference, index: Int) throws(ValidationError) {
        let which = "secret reference #\(index + 1)"
        do {
            try validateResourceName(secret.provider, kind: "secret provider")
        } catch {
            throw ValidationError(field: "secrets[\(index)].provider", message: "\(which): \(error.message)")
        }
        guard (1...maxSecretPathBytes).contains(secret.path.utf8.count), !secret.path.utf8.contains(where: isControl)
        else {
            throw ValidationError(
                field: "secrets[\(index)].path",
                message: "\(which): the path must be 1 to \(maxSecretPathBytes) bytes without control characters")
        }
        guard secret.mapping.count <= 1000 else {
            throw ValidationError(field: "secrets[\(index)].mapping", message: "\(which): at most 1000 mappings")
        }
        for (name, key) in secret.mapping {
            try validateEnvironmentName(name)
            // An empty key takes a whole single-value secret.
            guard key.utf8.count <= 256, !key.utf8.contains(where: isControl) else {
                throw ValidationError(
                    field: "secrets[\(index)].mapping",
                    message: "\(which): the key mapped to \(name) must be at most 256 bytes without control characters")
            }
        }
    }

    private static func isControl(_ b: UInt8) -> Bool { b < 0x20 || b == 0x7F }

    /// Environment variable names: `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters.
    package static func validateEnvironmentName(_ name: String) throws(ValidationError) {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 128,
            isLetter(first) || first == UInt8(ascii: "_"),
            bytes.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") })
        else {
            throw ValidationError(
                field: "env",
                message: "environment variable name \"\(name)\" must match [A-Za-z_][A-Za-z0-9_]*"
            )
        }
    }

    private static func isLetter(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private static func isNameByte(_ b: UInt8) -> Bool {
        isLetter(b) || isDigit(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }
}
