/// A secret reference's path for the `vault` provider: `path/to/secret`, with
/// an optional KV v2 version as `path/to/secret@3` or `path/to/secret?version=3`.
///
/// With `?version=N` the part before it is taken literally, so a path that
/// really ends in `@<digits>` reads as `name@5?version=0` (version 0 is
/// Vault's "latest").
struct VaultPath: Sendable, Equatable {
    /// Segments below the mount, the configured `prefix` included.
    var segments: [String]
    /// The KV v2 version asked for; `nil` for the latest.
    var version: Int?

    /// Parses a reference path and puts `prefix` in front of it.
    /// - Throws: `.notFound` for a path Vault cannot hold (empty, `.`/`..` segments, a bad version).
    init(reference: String, prefix: [String]) throws(SecretError) {
        var text = reference
        if let question = text.firstIndex(of: "?") {
            let query = text[text.index(after: question)...]
            guard query.hasPrefix("version="), let version = Int(query.dropFirst("version=".count)), version >= 0 else {
                throw SecretError(.notFound, "the only query a Vault path takes is ?version=N (a KV v2 version number)")
            }
            self.version = version
            text = String(text[..<question])
        } else if let at = text.lastIndex(of: "@") {
            let suffix = text[text.index(after: at)...]
            if !suffix.isEmpty, suffix.allSatisfy(\.isASCIIDigit), let version = Int(suffix) {
                self.version = version
                text = String(text[..<at])
            }
        }
        let own = try Self.split(text, what: "path")
        guard !own.isEmpty else { throw SecretError(.notFound, "the path names no secret") }
        segments = prefix + own
    }

    /// The path below the mount, percent-escaped for a URL.
    var escaped: String { Self.escape(segments) }

    /// The path below the mount as Vault shows it.
    var display: String { segments.joined(separator: "/") }

    /// Splits a `/`-separated path into segments, ignoring leading and trailing `/`.
    /// - Throws: `.notFound` for empty, `.` or `..` segments, which would leave the mount.
    static func split(_ text: String, what: String) throws(SecretError) -> [String] {
        var trimmed = Substring(text)
        while trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty { return [] }
        let segments = trimmed.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw SecretError(.notFound, "the \(what) \"\(text)\" has an empty, '.' or '..' segment")
        }
        return segments
    }

    /// Joins segments with `/`, each percent-escaped (only unreserved characters stay).
    static func escape(_ segments: [String]) -> String {
        segments.map(escapeSegment).joined(separator: "/")
    }

    static func escapeSegment(_ segment: String) -> String {
        var result = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                result.unicodeScalars.append("%")
                result.unicodeScalars.append(hex[Int(byte >> 4)])
                result.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return result
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
