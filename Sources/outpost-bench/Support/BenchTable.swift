/// Prints rows as an aligned text table: numbers right-aligned, text left.
func printTable(_ rows: [BenchRow]) {
    let header = ["scenario", "measurement", "value", "unit", "ratio", "goal", "notes"]
    let numeric: Set<Int> = [2, 4]
    let cells = rows.map { row in
        [
            row.scenario, row.measurement,
            row.value.map(formatFigure) ?? "-",
            row.unit,
            row.ratio.map { format($0, decimals: 2) } ?? "-",
            row.goal.map { "\($0)" + (row.goalMet == true ? " ok" : row.goalMet == false ? " MISSED" : "") } ?? "",
            row.notes,
        ]
    }
    let widths = header.indices.map { column in
        ([header] + cells).map { $0[column].count }.max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { column, cell in
            if column == cells.count - 1 { return cell }
            let padding = String(repeating: " ", count: widths[column] - cell.count)
            return numeric.contains(column) ? padding + cell : cell + padding
        }.joined(separator: "  ")
    }
    print(line(header))
    print(line(widths.map { String(repeating: "-", count: $0) }))
    for row in cells { print(line(row)) }
}

/// A figure with as many decimals as its size deserves: 12345, 123.4, 1.234, 0.0123.
func formatFigure(_ value: Double) -> String {
    let magnitude = abs(value)
    if magnitude >= 1000 { return format(value, decimals: 0) }
    if magnitude >= 100 { return format(value, decimals: 1) }
    if magnitude >= 1 { return format(value, decimals: 2) }
    if magnitude >= 0.01 { return format(value, decimals: 3) }
    return format(value, decimals: 4)
}

/// `1234.5` with a fixed number of decimals, without Foundation's formatters.
func format(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return String(value) }
    var scale = 1.0
    for _ in 0 ..< decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard decimals > 0 else { return sign + String(whole) }
    let fraction = String(Int(scaled.truncatingRemainder(dividingBy: scale)))
    return "\(sign)\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
}
