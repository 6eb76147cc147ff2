import OutpostCore

/// The command-line spellings of secret references on a target:
///
/// - `--secret PROVIDER:PATH` followed by any number of `--map ENV=KEY` (a key of a
///   JSON secret into a variable) or `--map ENV` (the whole single-value secret);
///   without `--map`, every key of a JSON secret becomes a variable of its name.
/// - `--env NAME=secret:PROVIDER:PATH#KEY` (one key) or `--env NAME=secret:PROVIDER:PATH`
///   (a whole single-value secret).
enum SecretReferenceSyntax {
    static let envPrefix = "secret:"

    /// Groups `--secret` and `--map` flags in the order they were given: each map
    /// belongs to the closest `--secret` before it.
    static func references(fromArguments arguments: [String]) throws -> [SecretReference] {
        var references: [SecretReference] = []
        var index = 0
        func value(_ flag: String) -> String? {
            let argument = arguments[index]
            if argument == flag, index + 1 < arguments.count {
                index += 1
                return arguments[index]
            }
            if argument.hasPrefix(flag + "=") { return String(argument.dropFirst(flag.count + 1)) }
            return nil
        }
        while index < arguments.count {
            if arguments[index] == "--" { break }
            if let text = value("--secret") {
                references.append(try reference(text))
            } else if let text = value("--map") {
                guard !references.isEmpty else {
                    throw CLIExit.usage("--map \(text): give the --secret PROVIDER:PATH it belongs to first")
                }
                let (variable, key) = try mapping(text)
                guard references[references.count - 1].mapping[variable] == nil else {
                    throw CLIExit.usage("--map \(text): \(variable) is mapped twice")
                }
                references[references.count - 1].mapping[variable] = key
            }
            index += 1
        }
        return references
    }

    /// `PROVIDER:PATH`.
    static func reference(_ text: String) throws -> SecretReference {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex, text.index(after: colon) != text.endIndex
        else {
            throw CLIExit.usage("--secret \(text): expected PROVIDER:PATH, e.g. aws:prod/db or vault:apps/billing")
        }
        return SecretReference(provider: String(text[..<colon]), path: String(text[text.index(after: colon)...]))
    }

    /// `ENV=KEY` or `ENV` (whole value).
    static func mapping(_ text: String) throws -> (variable: String, key: String) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        do { try Names.validateEnvironmentName(parts[0]) } catch { throw CLIExit.usage("--map \(text): \(error.message)") }
        if parts.count == 2, parts[1].isEmpty { throw CLIExit.usage("--map \(text): the key after '=' is empty") }
        return (parts[0], parts.count == 2 ? parts[1] : "")
    }

    /// `secret:PROVIDER:PATH#KEY` as the value of `--env NAME=...`, or `nil` for a literal.
    static func environmentReference(variable: String, value: String) throws -> SecretReference? {
        guard value.hasPrefix(envPrefix) else { return nil }
        let body = String(value.dropFirst(envPrefix.count))
        var reference = try reference(body)
        var key = ""
        if let hash = reference.path.lastIndex(of: "#") {
            key = String(reference.path[reference.path.index(after: hash)...])
            reference.path = String(reference.path[..<hash])
            guard !key.isEmpty, !reference.path.isEmpty else {
                throw CLIExit.usage("--env \(variable)=\(value): expected secret:PROVIDER:PATH#KEY")
            }
        }
        reference.mapping = [variable: key]
        return reference
    }
}
