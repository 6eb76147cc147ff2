import Foundation

/// Runs `body` `runs` times and returns the fastest wall-clock time in seconds.
func fastest(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    let clock = ContinuousClock()
    for _ in 0 ..< max(1, runs) {
        best = min(best, try clock.measure(body).seconds)
    }
    return best
}

/// The wall-clock time `body` takes, in seconds.
func measure(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return (ContinuousClock.now - start).seconds
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}

/// Latency samples in seconds, and their percentiles.
struct Samples: Sendable {
    private(set) var values: [Double] = []

    init(_ values: [Double] = []) { self.values = values }

    mutating func add(_ seconds: Double) { values.append(seconds) }

    var count: Int { values.count }

    /// The `p`-th percentile (0...100), nearest rank; 0 when empty.
    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(sorted.count - 1, Swift.max(0, rank - 1))]
    }

    var p50: Double { percentile(50) }
    var p90: Double { percentile(90) }
    var p99: Double { percentile(99) }
    var maximum: Double { values.max() ?? 0 }
}

/// Keeps the optimiser from dropping work whose result is otherwise unused.
@inline(never)
func blackHole(_ value: UInt8) {
    if value == 0x5A && CommandLine.arguments.count > 1000 { print(value) }
}

/// Progress on standard error, so the table on standard output stays clean.
func log(_ message: String) {
    FileHandle.standardError.write(Data("outpost-bench: \(message)\n".utf8))
}
