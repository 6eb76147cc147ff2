/// Decides which byte patterns a task's secrets become in the masker: each
/// value, each line of a multi-line value, and the encoded forms programs
/// print them in (base64, also wrapped into lines; URL, JSON, HTML; shell and
/// Python quoting). Values shorter than a minimum are not masked; a warning
/// names them instead.
///
/// This is the policy half of masking (buildkite/agent's `redact` over its
/// `replacer`); `StreamingReplacer` does the matching. Pure: no I/O, the
/// environment is passed in.
package struct MaskingPolicy: Sendable {
    /// Which encoded forms of each value are masked too.
    package struct Encodings: OptionSet, Sendable {
        package let rawValue: Int
        package init(rawValue: Int) { self.rawValue = rawValue }

        /// Base64 at all three byte alignments, standard and URL-safe
        /// alphabets, also wrapped into lines (`\n` or `\r\n`) anywhere.
        package static let base64 = Encodings(rawValue: 1 << 0)
        /// Percent-encoding: `encodeURIComponent`, RFC 3986, form (`+` for
        /// space), each with upper- and lowercase hex digits.
        package static let percent = Encodings(rawValue: 1 << 1)
        /// The value inside a JSON string (several encoders' escaping styles).
        package static let json = Encodings(rawValue: 1 << 2)
        /// The value inside single quotes (`'\''` or `shlex.quote`'s `'"'"'`),
        /// double quotes (`\"`), or as bash's `printf %q` prints it
        /// (`a\ b`, `$'...'`).
        package static let shell = Encodings(rawValue: 1 << 3)
        /// Inside Python's `repr()` (either quote).
        package static let python = Encodings(rawValue: 1 << 4)
        /// HTML-escaped (`&amp;`, `&lt;`, `&gt;`, `&quot;`/`&#34;`, `&#x27;`/`&#39;`).
        package static let html = Encodings(rawValue: 1 << 5)
        /// Every form above.
        package static let all: Encodings = [.base64, .percent, .json, .shell, .python, .html]
    }

    /// How the policy masks.
    package struct Configuration: Sendable {
        /// Values (and lines, and encoded forms) shorter than this many UTF-8 bytes are not masked. Default 4.
        package var minimumLength: Int
        /// Encoded forms masked besides the value itself. Default: all.
        package var encodings: Encodings
        /// Mask each line of a multi-line value on its own too. Default true.
        package var masksEachLine: Bool
        /// Agent environment variables whose name ends in one of these (any case) are masked. Default TOKEN, KEY, SECRET, PASSWORD.
        package var sensitiveNameSuffixes: [String]

        package static let defaultSensitiveNameSuffixes = ["TOKEN", "KEY", "SECRET", "PASSWORD"]

        package init(
            minimumLength: Int = 4,
            encodings: Encodings = .all,
            masksEachLine: Bool = true,
            sensitiveNameSuffixes: [String] = Configuration.defaultSensitiveNameSuffixes
        ) {
            self.minimumLength = minimumLength
            self.encodings = encodings
            self.masksEachLine = masksEachLine
            self.sensitiveNameSuffixes = sensitiveNameSuffixes
        }
    }

    package let configuration: Configuration

    package init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The byte patterns to mask for these values: `patterns` as they are,
    /// `lineWrapped` (the base64 forms) also with line breaks between their
    /// bytes; and a warning for each name whose value is too short to mask.
    /// Empty values are skipped silently (there is nothing to leak). Patterns
    /// are distinct (none in both lists), in a stable order.
    package func patterns(
        for values: [(name: String, value: String)]
    ) -> (patterns: [[UInt8]], lineWrapped: [[UInt8]], warnings: [MaskingWarning]) {
        let minimum = max(1, configuration.minimumLength)
        var plain: [[UInt8]] = []
        var wrapped: [[UInt8]] = []
        var seen = Set<ByteString>()
        var warnings: [MaskingWarning] = []
        var warned = Set<String>()
        for (name, value) in values where !value.isEmpty {
            guard value.utf8.count >= minimum else {
                if warned.insert(name).inserted {
                    warnings.append(MaskingWarning(name: name, reason: .tooShort(minimumLength: minimum)))
                }
                continue
            }
            let (valueForms, base64Forms) = forms(of: value, minimum: minimum)
            // Base64 first, so that a form both lists would hold is matched wrapped too.
            for pattern in base64Forms where pattern.count >= minimum && seen.insert(ByteString(pattern)).inserted {
                wrapped.append(pattern)
            }
            for pattern in valueForms where pattern.count >= minimum && seen.insert(ByteString(pattern)).inserted {
                plain.append(pattern)
            }
        }
        return (plain, wrapped, warnings)
    }

    /// A masker for these values, and the warnings of `patterns(for:)` (the
    /// agent logs them; they name the secret, never the value).
    package func masker(for values: [(name: String, value: String)]) -> (masker: Masker, warnings: [MaskingWarning]) {
        let (patterns, lineWrapped, warnings) = patterns(for: values)
        return (Masker(patterns: patterns, lineWrapped: lineWrapped), warnings)
    }

    /// The variables of `environment` whose name ends in one of the configured
    /// suffixes (ignoring case), sorted by name: the agent's own credentials,
    /// masked in every task's log whether or not the task can see them.
    package func sensitiveValues(in environment: [String: String]) -> [(name: String, value: String)] {
        let suffixes = configuration.sensitiveNameSuffixes.filter { !$0.isEmpty }.map { $0.uppercased() }
        return environment
            .filter { name, _ in
                let upper = name.uppercased()
                return suffixes.contains { upper.hasSuffix($0) }
            }
            .sorted { $0.key < $1.key }
            .map { (name: $0.key, value: $0.value) }
    }

    /// The value, its lines of at least `minimum` bytes, and the configured
    /// encodings of each, the base64 ones apart (possibly with duplicates, and
    /// encodings shorter than `minimum`: the caller filters).
    func forms(of value: String, minimum: Int) -> (plain: [[UInt8]], base64: [[UInt8]]) {
        var sources = [value]
        let utf8 = Array(value.utf8)
        if configuration.masksEachLine && utf8.contains(UInt8(ascii: "\n")) {
            // Split the bytes, not the characters: Swift treats "\r\n" as one Character.
            for line in utf8.split(separator: UInt8(ascii: "\n")) {
                // CRLF text: the line without its carriage return is what sits between line breaks.
                let content = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
                // A short line is skipped with all its encodings (its base64 may be long enough).
                if content.count >= minimum { sources.append(String(decoding: content, as: UTF8.self)) }
            }
        }
        var forms: [[UInt8]] = []
        var base64: [[UInt8]] = []
        for source in sources {
            let bytes = Array(source.utf8)
            forms.append(bytes)
            let encodings = configuration.encodings
            if encodings.contains(.base64) {
                base64 += SecretEncodings.base64Fragments(bytes, alphabet: SecretEncodings.standardAlphabet)
                base64 += SecretEncodings.base64Fragments(bytes, alphabet: SecretEncodings.urlSafeAlphabet)
            }
            if encodings.contains(.percent) {
                forms += SecretEncodings.percentEncodings(bytes)
            }
            if encodings.contains(.json) {
                forms += SecretEncodings.JSONStyle.allCases.map { SecretEncodings.jsonEscaped(source, style: $0) }
            }
            if encodings.contains(.shell) {
                forms += [SecretEncodings.shellSingleQuoted(bytes), SecretEncodings.shellDoubleQuoted(bytes)]
                forms += [SecretEncodings.shlexQuoted(bytes)] + SecretEncodings.bashPrintfQuoted(source)
            }
            if encodings.contains(.python) {
                forms += SecretEncodings.pythonRepr(source)
            }
            if encodings.contains(.html) {
                forms += SecretEncodings.htmlEscapings(bytes)
            }
        }
        return (forms, base64)
    }
}
