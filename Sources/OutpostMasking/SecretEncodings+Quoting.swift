/// How shells, Python and HTML templates quote a value, as byte patterns (the
/// value's content, without the surrounding quotes). Checked against bash
/// 5.2 and Python 3.11 by `MaskingRealToolTests`.
extension SecretEncodings {
    // MARK: bash printf %q

    /// What bash's `printf %q` prints: the value with shell metacharacters
    /// backslash-escaped (`C\ a\ b`, `\*\?\[`), or, if it holds a character
    /// the locale cannot print, the inside of the `$'...'` form with C escapes.
    /// Both locales' forms: in a UTF-8 one only control and separator
    /// characters are unprintable; in the C locale every non-ASCII byte is
    /// (`$'\303\251'` for `é`).
    static func bashPrintfQuoted(_ value: String) -> [[UInt8]] {
        let bytes = Array(value.utf8)
        let utf8Locale = value.unicodeScalars.contains(where: bashUnprintable)
            ? bashANSIC(value, cLocale: false) : bashBackslashed(bytes)
        let cLocale = bytes.contains { $0 < 0x20 || $0 >= 0x7F }
            ? bashANSIC(value, cLocale: true) : bashBackslashed(bytes)
        return [utf8Locale, cLocale]
    }

    /// Whether bash in a UTF-8 locale prints the character in octal (glibc's
    /// `iswprint` is false: controls, line and paragraph separators, unassigned).
    static func bashUnprintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x20 || (0x7F ... 0x9F).contains(scalar.value) { return true }
        switch scalar.properties.generalCategory {
        case .lineSeparator, .paragraphSeparator, .surrogate, .unassigned: return true
        default: return false
        }
    }

    /// bash's `sh_backslash_quote`: metacharacters get a backslash; `#` only
    /// first, `~` only first or after `=` or `:`.
    static func bashBackslashed(_ value: [UInt8]) -> [UInt8] {
        let always = Set(" \t\n'\"\\|&;()<>!{}*[?]^$`,".utf8)
        var quoted: [UInt8] = []
        for (i, byte) in value.enumerated() {
            let previous = i > 0 ? value[i - 1] : nil
            let escapes = always.contains(byte)
                || (byte == UInt8(ascii: "#") && i == 0)
                || (byte == UInt8(ascii: "~") && (i == 0 || previous == UInt8(ascii: "=") || previous == UInt8(ascii: ":")))
            if escapes { quoted.append(UInt8(ascii: "\\")) }
            quoted.append(byte)
        }
        return quoted
    }

    /// The inside of bash's `$'...'` (`ansic_quote`): C escapes, `\E` for
    /// ESC, three-digit octal for each byte of an unprintable character (in
    /// the C locale, of every non-ASCII one).
    static func bashANSIC(_ value: String, cLocale: Bool) -> [UInt8] {
        let named: [UInt32: String] = [7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 27: "E", 0x5C: "\\", 0x27: "'"]
        var quoted: [UInt8] = []
        for scalar in value.unicodeScalars {
            var utf8: [UInt8] = []
            UTF8.encode(scalar) { utf8.append($0) }
            if let name = named[scalar.value] {
                quoted += Array("\\\(name)".utf8)
            } else if bashUnprintable(scalar) || (cLocale && scalar.value >= 0x80) {
                for byte in utf8 {
                    let digits = String(byte, radix: 8)
                    quoted += Array(("\\" + String(repeating: "0", count: 3 - digits.count) + digits).utf8)
                }
            } else {
                quoted += utf8
            }
        }
        return quoted
    }

    // MARK: Python repr()

    /// The inside of Python's `repr()` of a `str`, in both quote styles (it
    /// picks `"` when the value holds `'` but no `"`): `\\`, the quote, `\n`,
    /// `\r`, `\t` escaped, other unprintable characters as `\xNN`, `\uNNNN` or
    /// `\UNNNNNNNN`; printable non-ASCII characters kept.
    static func pythonRepr(_ value: String) -> [[UInt8]] {
        [UInt8(ascii: "'"), UInt8(ascii: "\"")].map { quote in
            var escaped: [UInt8] = []
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\\": escaped += Array("\\\\".utf8)
                case "\n": escaped += Array("\\n".utf8)
                case "\r": escaped += Array("\\r".utf8)
                case "\t": escaped += Array("\\t".utf8)
                case _ where scalar.value == UInt32(quote): escaped += [UInt8(ascii: "\\"), quote]
                case _ where !pythonPrintable(scalar):
                    let hex = String(scalar.value, radix: 16)
                    let (prefix, width) = scalar.value < 0x100 ? ("x", 2) : scalar.value < 0x10000 ? ("u", 4) : ("U", 8)
                    escaped += Array(("\\" + prefix + String(repeating: "0", count: width - hex.count) + hex).utf8)
                default: UTF8.encode(scalar) { escaped.append($0) }
                }
            }
            return escaped
        }
    }

    /// `str.isprintable()` for one character: not a control, format,
    /// separator (other than the space), surrogate, private-use or unassigned one.
    static func pythonPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return false
        default:
            return true
        }
    }

    // MARK: Python shlex.quote

    /// The inside of `shlex.quote`'s single quotes: each `'` written as
    /// `'"'"'` (the `'\''` splice of `set -x` is `shellSingleQuoted`).
    static func shlexQuoted(_ value: [UInt8]) -> [UInt8] {
        var quoted: [UInt8] = []
        for byte in value {
            if byte == UInt8(ascii: "'") { quoted += Array("'\"'\"'".utf8) } else { quoted.append(byte) }
        }
        return quoted
    }

    // MARK: HTML

    /// The value HTML-escaped as Python's `html.escape` (`&quot;`, `&#x27;`),
    /// MarkupSafe/Jinja2 and Go's `html/template` (`&#34;`, `&#39;`) and Rails'
    /// `ERB::Util` (`&quot;`, `&#39;`) write it; `&`, `<`, `>` alike in all.
    static func htmlEscapings(_ value: [UInt8]) -> [[UInt8]] {
        [("&quot;", "&#x27;"), ("&#34;", "&#39;"), ("&quot;", "&#39;")].map { doubleQuote, singleQuote in
            var escaped: [UInt8] = []
            for byte in value {
                switch byte {
                case UInt8(ascii: "&"): escaped += Array("&amp;".utf8)
                case UInt8(ascii: "<"): escaped += Array("&lt;".utf8)
                case UInt8(ascii: ">"): escaped += Array("&gt;".utf8)
                case UInt8(ascii: "\""): escaped += Array(doubleQuote.utf8)
                case UInt8(ascii: "'"): escaped += Array(singleQuote.utf8)
                default: escaped.append(byte)
                }
            }
            return escaped
        }
    }
}
