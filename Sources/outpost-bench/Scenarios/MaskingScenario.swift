import Foundation
import OutpostMasking

/// `outpost-bench masking`: masks a generated log stream with 100 secrets and
/// all the patterns the default `MaskingPolicy` derives from them, in chunks,
/// and compares with a plain copy of the same chunks (the baseline, ratio 1)
/// and with `LC_ALL=C grep -F -f patterns` over the same data in a file; and
/// masks `base64` dumps (76 and 20 columns) of binary data with the secrets
/// in them, the heaviest cases for matching base64 across line breaks.
struct MaskingScenario: BenchScenario {
    let name = "masking"
    let summary = "mask a generated log stream (256 MiB) and base64 dumps (64 MiB, 76 and 20 columns) with 100 secrets in 64 KiB chunks; vs memcpy and grep -F"

    /// Secrets in the stream, and about one line in `secretEvery` prints one.
    let secretCount = 100
    let secretEvery = 1000

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        let total = options.sizeMiB << 20
        let chunkSize = options.chunkKiB << 10
        let secrets = BenchSecrets.make(count: secretCount, seed: 7)
        let (patterns, lineWrapped, warnings) = MaskingPolicy().patterns(for: secrets)
        precondition(warnings.isEmpty, "benchmark secrets are all long enough")

        log("generating \(options.sizeMiB) MiB of log text")
        var generator = LogTextGenerator(
            secretLines: BenchSecrets.appearances(of: secrets), secretEvery: secretEvery, seed: 42)
        var data: [UInt8] = []
        data.reserveCapacity(total + 4096)
        generator.fill(&data, upTo: total)
        data.removeLast(data.count - total)
        let chunks = Swift.stride(from: 0, to: total, by: chunkSize).map { Array(data[$0 ..< min($0 + chunkSize, total)]) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataFile = directory.appendingPathComponent("data.log")
        try Data(data).write(to: dataFile)
        data = []

        log("plain copy")
        let copySeconds = fastest(of: options.runs) { Self.copyAll(chunks, chunkSize: chunkSize) }
        log("masking")
        let maskSeconds = fastest(of: options.runs) { _ = Self.maskAll(chunks, patterns: patterns, lineWrapped: lineWrapped, into: nil) }

        // Untimed: write the masked stream out, count replacements, check nothing leaked.
        let maskedFile = directory.appendingPathComponent("masked.log")
        _ = FileManager.default.createFile(atPath: maskedFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: maskedFile)
        let replacements = Self.maskAll(chunks, patterns: patterns, lineWrapped: lineWrapped, into: handle)
        try handle.close()

        // The worst case for the stride of the sampled scan: one 4-byte secret among them.
        let short = MaskingPolicy().patterns(for: secrets + [(name: "BENCH_SHORT_TOKEN", value: "q7Zx")])
        log("masking with one 4-byte secret added")
        let shortSeconds = fastest(of: options.runs) {
            _ = Self.maskAll(chunks, patterns: short.patterns, lineWrapped: short.lineWrapped, into: nil)
        }

        // Base64 dumps (`base64` of a binary with secrets in it): every line a
        // 76-column base64 line, where the line-wrapped patterns' samples hit most.
        log("masking base64-wrapped text")
        let wrappedChunks = Self.base64Dump(secrets: secrets, bytes: total / 4, chunkSize: chunkSize)
        let wrappedSeconds = fastest(of: options.runs) {
            _ = Self.maskAll(wrappedChunks.chunks, patterns: patterns, lineWrapped: lineWrapped, into: nil)
        }
        let wrappedReplacements = Self.maskAll(wrappedChunks.chunks, patterns: patterns, lineWrapped: lineWrapped, into: .nullDevice)
        // The same at 20 columns, where every line is short and the narrow-wrap search joins them all.
        log("masking base64 text wrapped at 20 columns")
        let narrowChunks = Self.base64Dump(secrets: secrets, bytes: total / 4, chunkSize: chunkSize, width: 20)
        let narrowSeconds = fastest(of: options.runs) {
            _ = Self.maskAll(narrowChunks.chunks, patterns: patterns, lineWrapped: lineWrapped, into: nil)
        }
        let narrowReplacements = Self.maskAll(narrowChunks.chunks, patterns: patterns, lineWrapped: lineWrapped, into: .nullDevice)

        let megabytes = Double(total) / 1e6
        let copyRate = megabytes / copySeconds
        let chunkNote = "\(chunks.count) chunks of \(options.chunkKiB) KiB, best of \(options.runs)"
        let maskRate = megabytes / maskSeconds
        var rows = [
            BenchRow(name, "plain copy (memcpy into an output buffer) [baseline]", value: copyRate, unit: "MB/s",
                     ratio: 1, notes: chunkNote),
            BenchRow(name, "masker, 100 secrets", value: maskRate, unit: "MB/s", ratio: maskRate / copyRate,
                     goal: nil,
                     notes: "\(patterns.count) + \(lineWrapped.count) base64 patterns from \(secretCount) secrets "
                         + "(shortest \((patterns + lineWrapped).map(\.count).min() ?? 0) B), "
                         + "\(replacements) replacements for \(generator.secretsWritten) secret lines"),
            BenchRow(name, "masker, one 4-byte secret added", value: megabytes / shortSeconds, unit: "MB/s",
                     ratio: megabytes / shortSeconds / copyRate,
                     notes: "\(short.patterns.count + short.lineWrapped.count) patterns; the short ones get their own index, sampled every 3rd byte"),
            BenchRow(name, "masker, 100 secrets, base64 dump (76 columns)", value: Double(wrappedChunks.bytes) / 1e6 / wrappedSeconds,
                     unit: "MB/s", ratio: Double(wrappedChunks.bytes) / 1e6 / wrappedSeconds / copyRate,
                     notes: "\(wrappedChunks.chunks.count) chunks; \(wrappedReplacements) replacements for \(wrappedChunks.secrets) secrets encoded"),
            BenchRow(name, "masker, 100 secrets, base64 dump (20 columns)", value: Double(narrowChunks.bytes) / 1e6 / narrowSeconds,
                     unit: "MB/s", ratio: Double(narrowChunks.bytes) / 1e6 / narrowSeconds / copyRate,
                     notes: "\(narrowChunks.chunks.count) chunks; \(narrowReplacements) replacements for \(narrowChunks.secrets) secrets encoded"),
        ]

        if let grep = Self.grepPath {
            // grep -F patterns are lines: the whole multi-line values are left out (their lines are in).
            let patternFile = directory.appendingPathComponent("patterns.txt")
            let singleLine = (patterns + lineWrapped).filter { !$0.contains(10) }
            try Data(singleLine.joined(separator: [10]) + [10]).write(to: patternFile)
            log("grep -F")
            var matchingLines = ""
            let grepSeconds = try fastest(of: min(options.runs, 2)) {
                matchingLines = try Self.run(grep, ["-F", "-c", "-f", patternFile.path, dataFile.path])
            }
            rows.append(BenchRow(
                name, "LC_ALL=C grep -F -c -f patterns (yardstick)",
                value: megabytes / grepSeconds, unit: "MB/s", ratio: megabytes / grepSeconds / copyRate,
                notes: "\(singleLine.count) patterns, \(matchingLines) matching lines; file in page cache"))

            // Leak check: no single-line secret value (or line of one) is left in the masked output.
            let valuesFile = directory.appendingPathComponent("values.txt")
            let values = secrets.flatMap { $0.value.split(separator: "\n").map { Array($0.utf8) } }.filter { $0.count >= 4 }
            try Data(values.joined(separator: [10]) + [10]).write(to: valuesFile)
            let leaked = try Self.run(grep, ["-F", "-c", "-f", valuesFile.path, maskedFile.path])
            rows.append(BenchRow(name, "leak check: masked output lines holding a secret value",
                                 value: Double(leaked) ?? -1, unit: "lines", goal: .atMost(0)))
        } else {
            rows.append(BenchRow(name, "grep -F (yardstick)", value: nil, notes: "grep not found, skipped"))
        }
        return rows
    }

    /// About `bytes` bytes of `base64 -w width` output (`\n`) of random
    /// binary data with a secret value written into it about every 4 KiB, in
    /// chunks, and how many secrets it holds.
    static func base64Dump(
        secrets: [(name: String, value: String)], bytes: Int, chunkSize: Int, width: Int = 76
    ) -> (chunks: [[UInt8]], bytes: Int, secrets: Int) {
        var random = SplitMix64(seed: 11)
        var binary: [UInt8] = []
        var written = 0
        binary.reserveCapacity(bytes * 3 / 4 + 4096)
        while binary.count < bytes * 3 / 4 {
            for _ in 0 ..< 4096 { binary.append(UInt8(truncatingIfNeeded: random.next())) }
            binary += Array(secrets[random.below(secrets.count)].value.utf8)
            written += 1
        }
        // Not cut to size: every secret written is in the text, whole.
        let digits = Array(Data(binary).base64EncodedData())
        var text: [UInt8] = []
        text.reserveCapacity(digits.count + digits.count / width + 1)
        for line in Swift.stride(from: 0, to: digits.count, by: width) {
            text += digits[line ..< min(line + width, digits.count)]
            text.append(10)
        }
        let chunks = Swift.stride(from: 0, to: text.count, by: chunkSize).map { Array(text[$0 ..< min($0 + chunkSize, text.count)]) }
        return (chunks, text.count, written)
    }

    /// The baseline: copy every chunk into an output buffer, as any filter must.
    static func copyAll(_ chunks: [[UInt8]], chunkSize: Int) {
        var output = [UInt8](repeating: 0, count: chunkSize)
        var check: UInt8 = 0
        output.withUnsafeMutableBytes { destination in
            for chunk in chunks {
                chunk.withUnsafeBytes { source in
                    destination.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: source.count)
                }
                check &+= destination[chunk.count - 1]
            }
        }
        blackHole(check)
    }

    /// Masks the whole stream with a fresh masker; writes the output to
    /// `handle` if given and returns the number of replacements it contains
    /// (0 when not writing: counting is not part of the timed work).
    static func maskAll(_ chunks: [[UInt8]], patterns: [[UInt8]], lineWrapped: [[UInt8]], into handle: FileHandle?) -> Int {
        var masker = Masker(patterns: patterns, lineWrapped: lineWrapped)
        var replacements = 0
        var released = 0
        func emit(_ output: [UInt8]) {
            released &+= output.count
            guard let handle else { return }
            replacements += count(Masker.replacement, in: output)
            handle.write(Data(output))
        }
        for chunk in chunks { emit(masker.mask(chunk)) }
        emit(masker.finish())
        blackHole(UInt8(truncatingIfNeeded: released))
        return replacements
    }

    /// Occurrences of `needle` in `haystack` (the replacement has no self-overlap).
    static func count(_ needle: [UInt8], in haystack: [UInt8]) -> Int {
        var found = 0
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i ..< i + needle.count].elementsEqual(needle) {
                found += 1
                i += needle.count
            } else {
                i += 1
            }
        }
        return found
    }

    static var grepPath: String? {
        ["/usr/bin/grep", "/bin/grep"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `grep` with `LC_ALL=C` and returns its trimmed standard output.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["LC_ALL": "C", "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
