/// One benchmark scenario: `outpost-bench <name>` runs it.
///
/// Every scenario measures its own baseline in the same run (absolute times
/// on a shared machine drift; ratios drift much less) and returns rows for
/// the results table.
protocol BenchScenario: Sendable {
    /// What to type on the command line.
    var name: String { get }
    /// One line for `outpost-bench --list`.
    var summary: String { get }
    /// Runs the measurements and returns the table rows.
    func run(_ options: BenchOptions) async throws -> [BenchRow]
}

/// Command-line options shared by all scenarios.
struct BenchOptions: Sendable {
    /// Repetitions of each timed measurement where the fastest counts. Default 3.
    var runs = 3
    /// Size of the generated input in MiB, for scenarios that stream data. Default 256.
    var sizeMiB = 256
    /// Chunk size in KiB, for the masking scenario. Default 64.
    var chunkKiB = 64
    /// Multiplies task and agent counts (0.1 for a quick look). Default 1.
    var scale = 1.0
    /// How long the footprint scenario lets processes sit idle, in seconds. Default 60.
    var idleSeconds = 60
    /// The `outpost` executable the scenarios start (release build).
    var outpostBinary = "outpost"
    /// `scripts/services/postgres`, which the replicas scenario runs to start a throw-away
    /// PostgreSQL server when `OUTPOST_BENCH_DATABASE_URL` names none. Default: none.
    var postgresService: String?
    /// `TMPDIR` for that script, so its cluster is not the test command's. Default:
    /// `outpost-bench-postgres` in the temporary directory.
    var postgresDirectory: String?

    /// `count` scaled by `--scale`, at least `minimum`.
    func scaled(_ count: Int, minimum: Int = 1) -> Int {
        max(minimum, Int((Double(count) * scale).rounded()))
    }
}

/// The scenarios `outpost-bench` knows, in the order "all" runs them.
let allScenarios: [any BenchScenario] = [
    DispatchLatencyScenario(),
    TransportScenario(),
    ThroughputScenario(),
    HubThroughputScenario(),
    FleetScaleScenario(),
    FootprintScenario(),
    LogStreamingScenario(),
    MaskingScenario(),
    ReplicasScenario(),
    HistoryScenario(),
    SignedTaskScenario(),
]
