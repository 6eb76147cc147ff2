import Foundation

/// The results file: `latest.json` and a dated copy, with what was measured
/// where, so figures can be compared across commits.
struct BenchResults: Encodable {
    var date: String
    var commit: String
    var machine: String
    var options: [String: String]
    var rows: [BenchRow]

    init(started: Date, options: BenchOptions, rows: [BenchRow]) {
        date = ISO8601DateFormatter().string(from: started)
        commit = ProcessInfo.processInfo.environment["OUTPOST_BENCH_COMMIT"] ?? "unknown"
        machine = MachineInfo.summary
        self.options = [
            "runs": String(options.runs), "size_mib": String(options.sizeMiB), "chunk_kib": String(options.chunkKiB),
            "scale": String(options.scale), "idle_seconds": String(options.idleSeconds),
        ]
        self.rows = rows
    }

    /// Writes `latest.json` and `<date>.json` into `directory`; returns their paths.
    func write(to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        let stamp = date.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let paths = [directory + "/latest.json", directory + "/\(stamp).json"]
        for path in paths { try data.write(to: URL(fileURLWithPath: path)) }
        return paths
    }
}
