/// Turns the tab-separated rows of `mysql --batch` into CSV (RFC 4180) as output
/// streams by: the `mysql-csv` integration's `output: csv-from-tsv`.
///
/// The client escapes a tab, line feed, backslash and NUL inside a value as
/// `\t`, `\n`, `\\` and `\0`; those are undone, and a value holding a comma,
/// quote or line break is quoted with inner quotes doubled. Converted line by
/// line, so a row split across two reads is held until its end arrives; before
/// masking, so a secret that a value holds is still masked in its CSV form.
struct TSVToCSV: Sendable {
    private var pending: [UInt8] = []

    mutating func convert(_ chunk: [UInt8]) -> [UInt8] {
        pending.append(contentsOf: chunk)
        guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let complete = pending[...lastNewline]
        var out: [UInt8] = []
        out.reserveCapacity(complete.count + 16)
        for line in complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            Self.appendRow(line, to: &out)
            out.append(UInt8(ascii: "\n"))
        }
        pending.removeSubrange(...lastNewline)
        return out
    }

    /// The last line, if the output did not end with a line break.
    mutating func finish() -> [UInt8] {
        guard !pending.isEmpty else { return [] }
        var out: [UInt8] = []
        Self.appendRow(pending[...], to: &out)
        pending = []
        return out
    }

    private static func appendRow(_ line: ArraySlice<UInt8>, to out: inout [UInt8]) {
        var first = true
        for field in line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendField(unescape(field), to: &out)
        }
    }

    private static func unescape(_ field: ArraySlice<UInt8>) -> [UInt8] {
        guard field.contains(UInt8(ascii: "\\")) else { return Array(field) }
        var value: [UInt8] = []
        var escaping = false
        for byte in field {
            if escaping {
                switch byte {
                case UInt8(ascii: "t"): value.append(UInt8(ascii: "\t"))
                case UInt8(ascii: "n"): value.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "0"): value.append(0)
                default: value.append(byte)
                }
                escaping = false
            } else if byte == UInt8(ascii: "\\") {
                escaping = true
            } else {
                value.append(byte)
            }
        }
        if escaping { value.append(UInt8(ascii: "\\")) }
        return value
    }

    private static func appendField(_ value: [UInt8], to out: inout [UInt8]) {
        let needsQuotes = value.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }
        guard needsQuotes else {
            out.append(contentsOf: value)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in value {
            if byte == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\"")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}
