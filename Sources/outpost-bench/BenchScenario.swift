/// One benchmark scenario: `outpost-bench <name>` runs it. Issue 4 adds more.
protocol BenchScenario: Sendable {
    /// What to type on the command line.
    var name: String { get }
    /// One line for `outpost-bench --list`.
    var summary: String { get }
    /// Runs the measurements and returns the table rows.
    func run(_ options: BenchOptions) throws -> [BenchRow]
}

/// Command-line options shared by all scenarios.
struct BenchOptions {
    /// Repetitions of each timed measurement; the fastest counts. Default 3.
    var runs = 3
    /// Size of the generated input in MiB, for scenarios that stream data. Default 256.
    var sizeMiB = 256
    /// Chunk size in KiB, for scenarios that stream data. Default 64.
    var chunkKiB = 64
}

/// One line of the results table.
struct BenchRow {
    var scenario: String
    var measurement: String
    /// Throughput in MB/s (10^6 bytes per second), if the row has one.
    var megabytesPerSecond: Double?
    /// Throughput relative to the scenario's baseline, if the row has one.
    var ratio: Double?
    var notes: String = ""
}

/// The scenarios `outpost-bench` knows, in the order "all" runs them.
let allScenarios: [any BenchScenario] = [MaskingScenario()]

/// Prints rows as an aligned text table.
func printTable(_ rows: [BenchRow]) {
    let header = ["scenario", "measurement", "MB/s", "ratio", "notes"]
    let cells = rows.map { row in
        [
            row.scenario, row.measurement,
            row.megabytesPerSecond.map { format($0, decimals: 0) } ?? "-",
            row.ratio.map { format($0, decimals: 3) } ?? "-",
            row.notes,
        ]
    }
    let widths = header.indices.map { column in
        ([header] + cells).map { $0[column].count }.max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { column, cell in
            // Numbers right-aligned, text left-aligned; the last column unpadded.
            let padding = String(repeating: " ", count: widths[column] - cell.count)
            if column == cells.count - 1 { return cell }
            return (2 ... 3).contains(column) ? padding + cell : cell + padding
        }.joined(separator: "  ")
    }
    print(line(header))
    print(line(widths.map { String(repeating: "-", count: $0) }))
    for row in cells { print(line(row)) }
}

/// `1234.5` with a fixed number of decimals, without Foundation's formatters.
func format(_ value: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0 ..< decimals { scale *= 10 }
    let scaled = (value * scale).rounded()
    let whole = Int(scaled / scale)
    guard decimals > 0 else { return String(whole) }
    let fraction = String(Int(abs(scaled).truncatingRemainder(dividingBy: scale)))
    return "\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
}
