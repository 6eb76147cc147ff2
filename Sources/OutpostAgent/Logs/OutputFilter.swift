import OutpostMasking

/// Turns a task's raw output into the bytes that go to the spool: converted
/// (`output: csv-from-tsv`), masked, and capped at `maxLogBytes` with one
/// visible truncation line.
///
/// A pure value fed from the output reader thread. Once the cap is hit it drops
/// everything (the pipe is still drained so the task never blocks on a full pipe).
/// The stored log never exceeds the cap: the truncation line fits inside it, so a
/// hub with the same cap never refuses the last chunk.
struct OutputFilter: Sendable {
    private var masker: Masker
    /// Turns tab-separated rows into CSV before masking; `nil` for plain text.
    private var conversion: TSVToCSV?
    private let cap: Int64
    private let truncationLine: [UInt8]
    /// Bytes released to the spool so far (including the truncation line).
    private(set) var released: Int64 = 0
    /// `true` once output was dropped at the cap.
    private(set) var truncated = false

    init(masker: Masker, cap: Int64, conversion: TSVToCSV? = nil) {
        self.masker = masker
        self.conversion = conversion
        self.cap = cap
        truncationLine = Self.truncationLine(cap: cap)
    }

    /// The line that ends a truncated log, e.g. `\n[outpost: log truncated at 64 MiB; the task kept running]\n`.
    static func truncationLine(cap: Int64) -> [UInt8] {
        Array("\n[outpost: log truncated at \(formatSize(cap)); the task kept running]\n".utf8)
    }

    /// `64 MiB`, `512 KiB` or `1000 bytes`: the cap the way a person configured it.
    static func formatSize(_ bytes: Int64) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    /// Filters one chunk of raw output; returns what to append to the spool.
    mutating func accept(_ chunk: [UInt8]) -> [UInt8] {
        guard !truncated else { return [] }
        guard conversion != nil else { return limit(masker.mask(chunk)) }
        return limit(masker.mask(conversion!.convert(chunk)))
    }

    /// The end of the output: releases what the conversion and the masker still held back.
    mutating func finish() -> [UInt8] {
        guard !truncated else { return [] }
        let rest = conversion?.finish() ?? []
        return limit(rest.isEmpty ? masker.finish() : masker.mask(rest) + masker.finish())
    }

    private mutating func limit(_ bytes: [UInt8]) -> [UInt8] {
        let room = cap - Int64(truncationLine.count) - released
        if Int64(bytes.count) <= room {
            released += Int64(bytes.count)
            return bytes
        }
        truncated = true
        let head = bytes.prefix(Int(max(room, 0)))
        released += Int64(head.count + truncationLine.count)
        return Array(head) + truncationLine
    }
}
