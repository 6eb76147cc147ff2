import Foundation

/// Credentials read from files (a Vault token sink, a Kubernetes service-account
/// token, a bearer token for a custom store), and scrubbing of credentials from
/// text a store sent back before it goes into an error.
///
/// Files are read each time a credential is needed, not once at start-up,
/// because their owners rotate them (projected service-account tokens, Vault
/// agent sinks).
enum CredentialFile {
    /// The file's content without surrounding whitespace or line breaks.
    /// - Parameter option: the option that named the file (`auth.jwt_file`), for the message.
    /// - Throws: `.denied` naming the option and the file (never its content).
    static func read(_ path: String, option: String) throws(SecretError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SecretError(.denied, "cannot read \(option) \(path): \(reason(error))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SecretError(.denied, "\(option) \(path) is not UTF-8 text")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw SecretError(.denied, "\(option) \(path) is empty") }
        return trimmed
    }

    /// Whether the file exists, for a start-up warning (the file may appear later).
    static func exists(_ path: String) -> Bool {
        FileManager.default.isReadableFile(atPath: path)
    }

    /// `text` with every credential replaced by `[REDACTED]`, cut to `limit`
    /// characters and on one line: what a store said may be quoted in an
    /// error, what we sent it may not.
    static func redact(_ text: String, removing credentials: [String], limit: Int = 300) -> String {
        var result = text
        for credential in credentials where credential.count >= 4 {
            result = result.replacingOccurrences(of: credential, with: "[REDACTED]")
        }
        result = result.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        if result.count > limit { result = String(result.prefix(limit)) + "..." }
        return result
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
            let code = POSIXErrorCode(rawValue: Int32(underlying.code))
        {
            return String(cString: strerror(code.rawValue))
        }
        switch nsError.code {
        case NSFileReadNoSuchFileError: return "no such file"
        case NSFileReadNoPermissionError: return "permission denied"
        default: return nsError.localizedDescription
        }
    }
}

/// A credential given literally, by file, or by an environment variable.
/// `description` says where it comes from, never what it is.
enum OptionCredential: Sendable, Equatable, CustomStringConvertible {
    case literal(String)
    case file(path: String, option: String)
    case environment(String, String)

    /// Exactly one of `literal` or `file` must be set.
    init(_ options: ProviderOptions, literal: String, file: String) throws(SecretError) {
        switch (try options.string(literal), try options.string(file)) {
        case (let value?, nil) where !value.isEmpty: self = .literal(value)
        case (nil, let path?) where !path.isEmpty: self = .file(path: path, option: "\(options.context).\(file)")
        case (nil, nil): throw options.invalid(literal, "required: set \(literal) or \(file)")
        default: throw options.invalid(literal, "set either \(literal) or \(file), not both")
        }
    }

    /// The credential's current value (a file is read again each time).
    func value() throws(SecretError) -> String {
        switch self {
        case .literal(let value): value
        case .environment(_, let value): value
        case .file(let path, let option): try CredentialFile.read(path, option: option)
        }
    }

    var description: String {
        switch self {
        case .literal: "given in the config"
        case .file(let path, _): "from file \(path)"
        case .environment(let name, _): "from \(name)"
        }
    }
}
