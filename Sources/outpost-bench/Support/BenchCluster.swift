import Foundation

/// One configuration of the `replicas` scenario: a hub alone on SQLite, or `count`
/// real `outpost server` replicas on one fresh PostgreSQL database, each in its own
/// scratch directory with its own agents.
final class BenchCluster: @unchecked Sendable {
    /// How the table names it: "SQLite, 1 hub", "PostgreSQL, 2 replicas".
    let label: String
    let replicas: [BenchHub]
    /// The PostgreSQL database the replicas share; `nil` on SQLite.
    let database: String?
    private let postgres: BenchPostgres?
    private let directories: [ScratchDirectory]

    var isPostgres: Bool { database != nil }
    var count: Int { replicas.count }

    private init(
        label: String, replicas: [BenchHub], database: String?, postgres: BenchPostgres?, directories: [ScratchDirectory]
    ) {
        self.label = label
        self.replicas = replicas
        self.database = database
        self.postgres = postgres
        self.directories = directories
    }

    /// Starts the replicas one after the other (the first makes the admin token). With
    /// `postgres`, on a database made for this configuration; without, one hub on SQLite.
    static func start(
        _ options: BenchOptions, slug: String, replicas count: Int, postgres: BenchPostgres?
    ) async throws -> BenchCluster {
        var database: String?
        var arguments: [String] = []
        if let postgres {
            let name = try await postgres.createDatabase("outpost_bench_\(slug)")
            database = name
            arguments = ["--database", postgres.url(database: name)]
        }
        var directories: [ScratchDirectory] = []
        var hubs: [BenchHub] = []
        do {
            for index in 0 ..< count {
                let directory = try ScratchDirectory("replicas-\(slug)-\(index)")
                directories.append(directory)
                hubs.append(try await BenchHub.start(
                    options, in: directory, arguments: arguments, adminToken: hubs.first?.adminToken))
            }
        } catch {
            for hub in hubs { await hub.stop() }
            for directory in directories { directory.remove() }
            if let database { await postgres?.dropDatabase(database) }
            throw error
        }
        let label = postgres == nil ? "SQLite, 1 hub" : "PostgreSQL, \(count) replica\(count == 1 ? "" : "s")"
        return BenchCluster(
            label: label, replicas: hubs, database: database, postgres: postgres, directories: directories)
    }

    /// Stops every replica and its agents, removes the files and drops the database.
    func stop() async {
        for hub in replicas { await hub.stop() }
        for directory in directories { directory.remove() }
        if let database { await postgres?.dropDatabase(database) }
    }

    /// The last lines every replica and its agents printed, for a failure report.
    func output() -> String {
        replicas.enumerated().map { index, hub in
            "\(label), replica \(index):\n" + hub.process.output().suffix(1200)
                + hub.agents.map { "\n  agent \($0.outputPath):\n" + $0.output().suffix(600) }.joined()
        }.joined(separator: "\n")
    }

    /// User plus system CPU seconds of every replica process so far.
    func hubCPUSeconds() -> Double {
        replicas.map { $0.process.probe.cpuSeconds() }.reduce(0, +)
    }

    /// NOTIFY statements all replicas sent so far (`outpost_cluster_notify_statements_total`).
    /// `/metrics` serves one body for a second: read it more than a second after the work.
    func notifyStatements() async throws -> Double {
        var total = 0.0
        for hub in replicas {
            guard let value = try await hub.metric("outpost_cluster_notify_statements_total") else {
                throw BenchError("\(label): /metrics has no outpost_cluster_notify_statements_total (an older hub?)")
            }
            total += value
        }
        return total
    }

    /// PostgreSQL's counters for this configuration's database; zero on SQLite.
    func statistics() async throws -> BenchPostgres.Statistics {
        guard let postgres, let database else { return BenchPostgres.Statistics() }
        return try await postgres.statistics(of: database)
    }
}
