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
