import Foundation
import OutpostMasking
import OutpostTestSupport
import Testing

/// The encoded forms a user's script would print, produced by the real tools
/// (GNU `base64`, `openssl base64`, Python 3, bash), masked by the default
/// policy. A value is fed to each tool on standard input or as an argument,
/// never through a shell command line.
extension MaskingSuite {
    @Suite("Masking what real tools print")
    struct MaskingRealToolTests {
        /// Shell and HTML metacharacters, both quotes, a space, a backslash, a
        /// comma, `~` after `=`, a leading `#`, and a non-ASCII letter.
        static let values = [
            "#C a b*?[x]", #"p@ss w/rd"'\&<>%+$é!"#, "it's \"quoted\"", "user=~me,{a}|b;c^`d`", "tab\tand\u{1}ctl\nnewline",
            "nb\u{A0}sp\u{2028}ls\u{1F600}x",
        ]

        /// Runs a real tool on its own thread (waiting for a child must not hold a thread
        /// that other tests' tasks run on).
        static func run(_ arguments: [String], input: [UInt8] = []) async throws -> [UInt8] {
            let (output, status) = try await onOwnThread { try runBlocking(arguments, input: input) }
            #expect(status == 0, "\(arguments.first ?? "") exited with \(status)")
            return output
        }

        private static func runBlocking(_ arguments: [String], input: [UInt8]) throws -> ([UInt8], Int32) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            let stdin = Pipe()
            let stdout = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            try process.run()
            try stdin.fileHandleForWriting.write(contentsOf: Data(input))
            try stdin.fileHandleForWriting.close()
            let output = stdout.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (Array(output), process.terminationStatus)
        }

        static func python(_ code: String, _ value: String) async throws -> [UInt8] {
            try await run(["python3", "-c", "import sys, base64, html, re, shlex, urllib.parse\nv = sys.stdin.buffer.read().decode()\n" + code], input: value.bytes)
        }

        @Test("wrapped base64 from base64, openssl and Python is masked at every offset, in any chunking",
              arguments: ["hunter2!", "a-secret-that-is-58-bytes-long-so-it-always-wraps-at-76!!!", String(repeating: "long/secret+", count: 20)])
        func wrappedBase64(value: String) async throws {
            for prefixLength in [0, 1, 2, 47, 56, 57, 100] {
                let stream = String(repeating: "0", count: prefixLength) + value + "tail"
                let outputs = [
                    try await Self.run(["base64"], input: stream.bytes),
                    try await Self.run(["base64", "-w", "64"], input: stream.bytes),
                    try await Self.run(["openssl", "base64"], input: stream.bytes),
                    try await Self.python("sys.stdout.write(base64.encodebytes(v.encode()).decode())", stream),
                    try await Self.python("sys.stdout.write(base64.encodebytes(v.encode()).decode().replace('\\n', '\\r\\n'))", stream),
                ]
                for (tool, output) in outputs.enumerated() {
                    var masker = MaskingPolicy().masker(for: [("V", value)]).masker
                    let whole = masker.masking(output.text).bytes
                    #expect(!SecretFragments(value: value).survive(in: whole), "tool \(tool), prefix \(prefixLength)")
                    for cut in stride(from: 1, to: output.count, by: 7) {
                        #expect(streamed(output, cuts: [cut, cut + 40], through: &masker) == whole, "tool \(tool), prefix \(prefixLength), cut \(cut)")
                    }
                }
            }
        }

        @Test("bash printf %q of a value is masked", arguments: values)
        func bashPrintfQ(value: String) async throws {
            for locale in ["C.UTF-8", "C"] {
                let printed = try await Self.run(["env", "LC_ALL=\(locale)", "bash", "-c", "printf '%q' \"$(cat)\""], input: value.bytes)
                let masked = MaskingPolicyTests.mask(printed.text, values: [("V", value)])
                #expect(masked == "[SECURE]" || masked == "$'[SECURE]'", "locale \(locale)")
            }
        }

        @Test("Python's repr(), shlex.quote() and html.escape() of a value are masked", arguments: values)
        func python(value: String) async throws {
            let printed = [
                try await Self.python("print(repr(v), end='')", value),
                try await Self.python("print(repr(v.replace('\"', '')), end='')", value),
                try await Self.python("print(shlex.quote(v), end='')", value),
                try await Self.python("print(html.escape(v), end='')", value),
                try await Self.python("print(re.sub('%[0-9A-F]{2}', lambda m: m[0].lower(), urllib.parse.quote(v, safe='')), end='')", value),
            ]
            let values = [("V", value), ("W", value.replacingOccurrences(of: "\"", with: ""))]
            for (form, output) in printed.enumerated() {
                let masked = MaskingPolicyTests.mask(output.text, values: values)
                #expect(["[SECURE]", "'[SECURE]'", "\"[SECURE]\""].contains(masked), "form \(form)")
            }
        }
    }
}

/// Many random values through one process per tool: every form the tools
/// print is masked whole.
extension MaskingSuite {
    @Suite("Masking what real tools print, random values")
    struct MaskingRealToolRandomTests {
        /// Printable ASCII (every metacharacter), tab, newline, a control
        /// character, DEL, and non-ASCII letters and separators.
        static let characters: [Character] = (32 ... 126).map { Character(Unicode.Scalar(UInt8($0))) }
            + ["\t", "\n", "\u{1}", "\u{7F}", "é", "\u{A0}", "\u{2028}", "😀"]

        static func randomValues(count: Int) -> [String] {
            var generator = SystemRandomNumberGenerator()
            return (0 ..< count).map { _ in
                // Not ending in a newline: bash's `read -d ''` would keep it, but `$(...)` would not.
                String((0 ..< Int.random(in: 4 ... 24, using: &generator)).map { _ in characters.randomElement(using: &generator)! })
            }.filter { !$0.hasSuffix("\n") && !$0.hasPrefix("\n") }
        }

        @Test("bash printf %q of 300 random values, in a UTF-8 and the C locale, is masked")
        func bash() async throws {
            let values = Self.randomValues(count: 300)
            let input: [UInt8] = values.flatMap { value -> [UInt8] in value.bytes + [0] }
            for locale in ["C.UTF-8", "C"] {
                let script = #"while IFS= read -r -d '' v; do printf '%q\0' "$v"; done"#
                let output = try await MaskingRealToolTests.run(["env", "LC_ALL=\(locale)", "bash", "-c", script], input: input)
                let printed = output.split(separator: 0, omittingEmptySubsequences: false).dropLast()
                #expect(printed.count == values.count)
                for (value, form) in zip(values, printed) {
                    let masked = MaskingPolicyTests.mask(Array(form).text, values: [("V", value)])
                    #expect(masked == "[SECURE]" || masked == "$'[SECURE]'", "locale \(locale), value of \(value.utf8.count) bytes")
                }
            }
        }

        @Test("Python's repr(), shlex.quote() and html.escape() of 300 random values are masked")
        func python() async throws {
            let values = Self.randomValues(count: 300)
            let input = try JSONSerialization.data(withJSONObject: values)
            let code = """
                import sys, json, html, shlex
                for v in json.load(sys.stdin):
                    for form in (repr(v), shlex.quote(v), html.escape(v)):
                        sys.stdout.buffer.write(form.encode() + b"\\0")
                """
            let output = try await MaskingRealToolTests.run(["python3", "-c", code], input: Array(input))
            let printed = output.split(separator: 0, omittingEmptySubsequences: false).dropLast()
            #expect(printed.count == 3 * values.count)
            for (i, form) in printed.enumerated() {
                let masked = MaskingPolicyTests.mask(Array(form).text, values: [("V", values[i / 3])])
                #expect(["[SECURE]", "'[SECURE]'", "\"[SECURE]\""].contains(masked), "form \(i % 3), value of \(values[i / 3].utf8.count) bytes")
            }
        }
    }
}
