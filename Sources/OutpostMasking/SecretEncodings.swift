/// The forms a secret value takes when a program prints it encoded or escaped,
/// as byte patterns to mask. Pure functions over UTF-8 bytes.
enum SecretEncodings {
    // MARK: Base64

    static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlSafeAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The base64 characters that a value produces wherever it sits in a
    /// base64-encoded stream (`base64("user:" + password)`, a JSON blob...).
    ///
    /// Base64 turns 3 bytes into 4 characters, so the value's first byte lands
    /// at one of three offsets within a group and each gives different
    /// characters. For each alignment `a` in 0, 1, 2: encode `a` filler bytes
    /// followed by the value, then drop the characters that depend on the
    /// filler (0, 2 or 3 — the character straddling filler and value depends on
    /// the unknown byte before the value) and any trailing character that
    /// would also need bits of the byte after the value. What is left appears
    /// verbatim whenever the value is encoded at that alignment. (GitHub's
    /// runner instead encodes the value minus 1 or 2 leading bytes, with
    /// padding, which misses the value whenever more data follows it.)
    static func base64Fragments(_ value: [UInt8], alphabet: [UInt8]) -> [[UInt8]] {
        var fragments: [[UInt8]] = []
        for alignment in 0 ..< 3 {
            let digits = base64Digits([UInt8](repeating: 0, count: alignment) + value, alphabet: alphabet)
            let fillerDigits = [0, 2, 3][alignment]
            if digits.count > fillerDigits { fragments.append(Array(digits[fillerDigits...])) }
        }
        return fragments
    }

    /// Base64 characters for every complete 6-bit group of `bytes`: no padding
    /// and no partial last character.
    static func base64Digits(_ bytes: [UInt8], alphabet: [UInt8]) -> [UInt8] {
        var digits: [UInt8] = []
        digits.reserveCapacity(bytes.count * 4 / 3)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                digits.append(alphabet[Int((buffer >> UInt32(bits)) & 63)])
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        return digits
    }

    // MARK: Percent-encoding

    /// The URL-encodings programs commonly produce: JavaScript's
    /// `encodeURIComponent`, RFC 3986 unreserved-only (curl, Go's `PathEscape`,
    /// Python's `quote`), the form encoding with `+` for space of Go's
    /// `QueryEscape` and Python's `quote_plus`, the WHATWG/Java form encoding,
    /// .NET's `HttpUtility.UrlEncode` (lowercase hex digits), and everything
    /// but letters and digits encoded (Foundation's `.alphanumerics`, which
    /// keeps non-ASCII letters: both ways). Each also with lowercase hex
    /// digits (`%2a`), which RFC 3986 allows and some encoders (.NET's,
    /// hand-written ones) produce.
    static func percentEncodings(_ value: [UInt8]) -> [[UInt8]] {
        let upper = uppercasePercentEncodings(value)
        return upper + upper.map(lowercasingHexDigits)
    }

    /// `%2A` to `%2a`, leaving every other byte alone.
    static func lowercasingHexDigits(_ encoded: [UInt8]) -> [UInt8] {
        var result = encoded
        var i = 0
        while i < result.count {
            if result[i] == UInt8(ascii: "%") && i + 2 < result.count {
                for j in i + 1 ... i + 2 where (UInt8(ascii: "A") ... UInt8(ascii: "F")).contains(result[j]) { result[j] += 32 }
                i += 3
            } else {
                i += 1
            }
        }
        return result
    }

    static func uppercasePercentEncodings(_ value: [UInt8]) -> [[UInt8]] {
        let uriComponent: (UInt8) -> Bool = { isAlphanumeric($0) || "-_.!~*'()".utf8.contains($0) }
        let unreserved: (UInt8) -> Bool = { isAlphanumeric($0) || "-_.~".utf8.contains($0) }
        let whatwgForm: (UInt8) -> Bool = { isAlphanumeric($0) || "*-._".utf8.contains($0) }
        let dotNet: (UInt8) -> Bool = { isAlphanumeric($0) || "-_.!*()".utf8.contains($0) }
        return [
            percentEncoded(value, keeping: uriComponent),
            percentEncoded(value, keeping: unreserved),
            percentEncoded(value, keeping: unreserved, spaceAsPlus: true),
            percentEncoded(value, keeping: whatwgForm, spaceAsPlus: true),
            percentEncoded(value, keeping: dotNet, spaceAsPlus: true, lowercaseHex: true),
            percentEncoded(value, keeping: isAlphanumeric),
            percentEncoded(value, keeping: { isAlphanumeric($0) || $0 >= 0x80 }),
        ]
    }

    /// `%XX` for every byte not kept (and not a space turned into `+`).
    static func percentEncoded(
        _ value: [UInt8], keeping keep: (UInt8) -> Bool, spaceAsPlus: Bool = false, lowercaseHex: Bool = false
    ) -> [UInt8] {
        let hex = Array((lowercaseHex ? "0123456789abcdef" : "0123456789ABCDEF").utf8)
        var encoded: [UInt8] = []
        for byte in value {
            if keep(byte) {
                encoded.append(byte)
            } else if spaceAsPlus && byte == UInt8(ascii: " ") {
                encoded.append(UInt8(ascii: "+"))
            } else {
                encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return encoded
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    // MARK: JSON

    /// How JSON encoders differ in escaping a string's content.
    enum JSONStyle: CaseIterable {
        /// Only what JSON requires (JavaScript, Rust's serde, Swift `.withoutEscapingSlashes`).
        case minimal
        /// Also `\/` (Swift's `JSONEncoder` by default, PHP).
        case escapedSlash
        /// Also `\uXXXX` for DEL and every non-ASCII character (Python's `json.dumps`).
        case asciiOnly
        /// Also `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX` (Go's `encoding/json`).
        case htmlSafe
    }

    /// The value as it appears between the quotes of a JSON string.
    static func jsonEscaped(_ value: String, style: JSONStyle) -> [UInt8] {
        var escaped: [UInt8] = []
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": escaped += Array("\\\"".utf8)
            case "\\": escaped += Array("\\\\".utf8)
            case "/" where style == .escapedSlash: escaped += Array("\\/".utf8)
            case "\u{08}": escaped += Array("\\b".utf8)
            case "\u{0C}": escaped += Array("\\f".utf8)
            case "\n": escaped += Array("\\n".utf8)
            case "\r": escaped += Array("\\r".utf8)
            case "\t": escaped += Array("\\t".utf8)
            default:
                let htmlUnsafe = [0x3C, 0x3E, 0x26, 0x2028, 0x2029].contains(scalar.value)
                if scalar.value < 0x20 || (style == .asciiOnly && scalar.value >= 0x7F) || (style == .htmlSafe && htmlUnsafe) {
                    UTF16.encode(scalar) { escaped += unicodeEscape($0) }
                } else {
                    UTF8.encode(scalar) { escaped.append($0) }
                }
            }
        }
        return escaped
    }

    /// `\u00e9`: lowercase hex, as JavaScript, Python and Go write it.
    static func unicodeEscape(_ unit: UInt16) -> [UInt8] {
        let hex = Array("0123456789abcdef".utf8)
        return Array("\\u".utf8) + [12, 8, 4, 0].map { hex[Int((unit >> UInt16($0)) & 15)] }
    }

    // MARK: Shell

    /// The value inside single quotes, each `'` written as `'\''` (what
    /// `set -x`, Python's `shlex.quote` and most scripts produce).
    static func shellSingleQuoted(_ value: [UInt8]) -> [UInt8] {
        var quoted: [UInt8] = []
        for byte in value {
            if byte == UInt8(ascii: "'") { quoted += Array("'\\''".utf8) } else { quoted.append(byte) }
        }
        return quoted
    }

    /// The value inside double quotes: `\`, `"`, `$` and `` ` `` backslash-escaped.
    static func shellDoubleQuoted(_ value: [UInt8]) -> [UInt8] {
        var quoted: [UInt8] = []
        for byte in value {
            if "\\\"$`".utf8.contains(byte) { quoted.append(UInt8(ascii: "\\")) }
            quoted.append(byte)
        }
        return quoted
    }
}
