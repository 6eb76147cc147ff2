import Foundation
import OutpostCore

/// Writing to the terminal: plain lines, JSON and aligned tables.
enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func raw(_ bytes: some Sequence<UInt8>) {
        FileHandle.standardOutput.write(Data(bytes))
    }

    /// Pretty JSON in the API's own spelling (snake_case keys, ISO dates).
    static func json(_ value: some Encodable) throws {
        let encoder = WireJSON.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        var data = try encoder.encode(value)
        data.append(UInt8(ascii: "\n"))
        FileHandle.standardOutput.write(data)
    }

    /// Columns padded to their widest cell; the last column is not padded.
    static func table(header: [String], rows: [[String]]) {
        let all = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        for row in all {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }
            line(cells.joined(separator: "  "))
        }
    }

    /// `2026-11-22 14:03:07` in UTC, or `-`.
    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        let text = WireJSON.formatDate(date)
        return String(text.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    /// `1.24s`, `3m05s`, or `-`.
    static func elapsed(from start: Date?, to end: Date?) -> String {
        guard let start, let end else { return "-" }
        let seconds = end.timeIntervalSince(start)
        if seconds < 60 { return String(format: "%.2fs", seconds) }
        return DurationParser.format(seconds)
    }
}
