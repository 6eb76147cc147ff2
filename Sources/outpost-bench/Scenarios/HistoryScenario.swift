import Foundation
import Logging
import OutpostClient
import OutpostCore
import OutpostStore

/// `outpost-bench history` (issue 13): does a hub slow down once its database
/// holds a long history? For SQLite and for PostgreSQL, one real agent runs
/// sequential tasks on an empty database; the hub stops, the bench puts
/// 1,000,000 finished tasks into that database through the store, and the hub
/// starts on it again. The full database is then measured task by task in
/// alternation with a fresh, empty one (a second hub), so that the machine's
/// drift weighs on both alike; the first empty run is reported beside it.
struct HistoryScenario: BenchScenario {
    let name = "history"
    let summary =
        "1 agent, sequential tasks: submit -> started and -> result with 1,000,000 finished tasks vs none; SQLite and PostgreSQL"

    /// The issue's history: not scaled, `--scale` shrinks only the measured tasks.
    static let historySize = 1_000_000

    func run(_ options: BenchOptions) async throws -> [BenchRow] {
        let count = options.scaled(1000, minimum: 50)
        let directory = try ScratchDirectory(name)
        defer { directory.remove() }
        var rows = try await measure(.sqlite, count: count, options: options)
        rows += try await HistoryPostgres.with(in: directory) { server in
            try await measure(.postgres(server), count: count, options: options)
        }
        return rows
    }

    /// Where a hub keeps its database.
    private enum Backend {
        case sqlite
        case postgres(HistoryPostgres)

        var label: String {
            switch self {
            case .sqlite: "SQLite"
            case .postgres: "PostgreSQL"
            }
        }
    }

    /// One database a hub runs on: the data directory and, on PostgreSQL, the database's name.
    private struct Database {
        let backend: Backend
        let directory: ScratchDirectory
        let postgresName: String?

        static func make(_ backend: Backend, scenario: String, role: String) async throws -> Database {
            let directory = try ScratchDirectory("\(scenario)-\(backend.label.lowercased())-\(role)")
            switch backend {
            case .sqlite:
                return Database(backend: backend, directory: directory, postgresName: nil)
            case .postgres(let server):
                let name = try await server.createDatabase(prefix: "outpost_bench_history")
                return Database(backend: backend, directory: directory, postgresName: name)
            }
        }

        /// `OUTPOST_SERVER_*` settings for the hub.
        var environment: [String: String] {
            guard case .postgres(let server) = backend, let postgresName else { return [:] }
            return ["OUTPOST_SERVER_DATABASE": server.url(database: postgresName)]
        }

        var sqlitePath: String { directory.file("hub-data/outpost.sqlite") }

        /// Opens the store the way the hub does, from the bench process; the hub must be stopped.
        func openStore() async throws -> any BenchmarkSeeding {
            let logger = Logger(label: "outpost.bench.history", factory: { _ in SwiftLogNoOpLogHandler() })
            switch backend {
            case .sqlite:
                return try await SQLiteHubStore.open(path: sqlitePath, logger: logger)
            case .postgres(let server):
                return try await PostgresHubStore.connect(server.settings(database: postgresName ?? ""), logger: logger)
            }
        }

        /// Bytes on disk: the SQLite file with its write-ahead log, or `pg_database_size`.
        func size() async throws -> Int {
            switch backend {
            case .sqlite:
                return [sqlitePath, sqlitePath + "-wal"].reduce(0) { total, path in
                    total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
                }
            case .postgres(let server):
                return try await server.size(of: postgresName ?? "")
            }
        }

        func remove() async {
            if case .postgres(let server) = backend, let postgresName { await server.dropDatabase(postgresName) }
            directory.remove()
        }
    }

    /// What one series of tasks collected.
    private struct Series {
        var toResult = Samples()
        var toStarted = Samples()
        var submitCall = Samples()
    }

    private func measure(_ backend: Backend, count: Int, options: BenchOptions) async throws -> [BenchRow] {
        let seeded = try await Database.make(backend, scenario: name, role: "seeded")
        let fresh = try await Database.make(backend, scenario: name, role: "fresh")
        do {
            let rows = try await measure(seeded: seeded, fresh: fresh, count: count, options: options)
            await seeded.remove()
            await fresh.remove()
            return rows
        } catch {
            await seeded.remove()
            await fresh.remove()
            throw error
        }
    }

    /// Empty run on `seeded`, the history put in, then `seeded` and `fresh` alternating.
    private func measure(seeded: Database, fresh: Database, count: Int, options: BenchOptions) async throws -> [BenchRow] {
        let label = seeded.backend.label
        log("history: \(label): \(count) sequential tasks on an empty database")
        let before = try await withHubs([seeded], options: options, agent: "before") { hubs in
            try await series(hubs, target: "history-before", count: count)
        }[0]

        log("history: \(label): seeding \(Self.historySize) finished tasks through the store (hub stopped)")
        let emptySize = try await seeded.size()
        let seedStart = ContinuousClock.now
        let store = try await seeded.openStore()
        try await store.migrate()
        // Spread over the last ~12 days: inside the default 30-day retention, so the hub keeps them.
        let createdAt = Date().addingTimeInterval(-Double(Self.historySize) - 86_400)
        do {
            try await store.seedFinishedTasksForBenchmark(count: Self.historySize, createdAt: createdAt)
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
        let seedSeconds = (ContinuousClock.now - seedStart).seconds
        let fullSize = try await seeded.size()
        log("history: \(label): seeded in \(formatFigure(seedSeconds)) s; \(formatFigure(Double(fullSize) / 1_048_576)) MiB")

        log("history: \(label): \(count) sequential tasks each on the seeded and a fresh database, alternating")
        let pair = try await withHubs([seeded, fresh], options: options, agent: "after") { hubs in
            let series = try await series(hubs, target: "history-after", count: count)
            return (series, try await consolePages(hubs, samples: options.scaled(20, minimum: 5)))
        }
        let (full, empty) = (pair.0[0], pair.0[1])

        let ms = 1000.0
        var rows = [
            BenchRow(name, "\(label): seed \(Self.historySize.formatted()) finished tasks", value: seedSeconds, unit: "s",
                     notes: "through the store, 10,000 per transaction; \(formatFigure(Double(Self.historySize) / seedSeconds)) rows/s"),
            BenchRow(name, "\(label): database size with the history", value: Double(fullSize) / 1_048_576, unit: "MiB",
                     notes: "empty \(formatFigure(Double(emptySize) / 1_048_576)) MiB; "
                        + (label == "SQLite" ? "file + WAL" : "pg_database_size")),
        ]
        let figures: [(String, KeyPath<Series, Samples>, Double)] = [
            ("submit -> result p50", \.toResult, 50), ("submit -> result p99", \.toResult, 99),
            ("submit -> process started p50", \.toStarted, 50), ("submit -> process started p99", \.toStarted, 99),
            ("submit call p50", \.submitCall, 50),
        ]
        for (page, (f, e)) in pair.1 {
            rows.append(BenchRow(name, "\(label): console \(page) p50, full", value: f * ms, unit: "ms",
                                 notes: "GET /tasks (HTML, 50 rows) with the history; empty \(formatFigure(e * ms)) ms"))
            rows.append(BenchRow(name, "\(label): console \(page) p50, full / empty", value: f / e, unit: "x",
                                 notes: "keyset paging on an index per filter"))
        }
        for (figure, path, p) in figures {
            let (f, e, b) = (full[keyPath: path].percentile(p), empty[keyPath: path].percentile(p), before[keyPath: path].percentile(p))
            rows.append(BenchRow(name, "\(label): \(figure), empty", value: e * ms, unit: "ms",
                                 notes: "fresh database, alternating with the full one; before seeding \(formatFigure(b * ms)) ms"))
            rows.append(BenchRow(name, "\(label): \(figure), full / empty", value: f / e, unit: "x",
                                 goal: figure.hasPrefix("submit call") ? nil : .atMost(1.2),
                                 notes: "full \(formatFigure(f * ms)) ms; vs the empty run before seeding \(formatFigure(f / b))x"))
        }
        return rows
    }

    /// The console's task list on each hub, alternating: p50 seconds per page, (full, empty).
    private func consolePages(_ hubs: [BenchHub], samples: Int) async throws -> [(String, (Double, Double))] {
        log("history: the console's task list, \(samples) fetches per page and hub")
        var consoles: [ConsoleListMeasurement] = []
        for hub in hubs { consoles.append(try await .signIn(url: hub.url, token: hub.adminToken)) }
        var out: [(String, (Double, Double))] = []
        let pages = ConsoleListMeasurement.pages.map { ($0.label, Optional($0.query)) }
            + [("page \(ConsoleListMeasurement.depth) (older links)", nil)]
        for (label, query) in pages {
            var timings = Array(repeating: Samples(), count: consoles.count)
            for i in 0..<samples {
                for k in (i % 2 == 0 ? Array(consoles.indices) : consoles.indices.reversed()) {
                    if let query {
                        timings[k].add(try await consoles[k].fetch("/tasks?" + query).seconds)
                    } else {
                        timings[k].add(try await consoles[k].deepPage())
                    }
                }
            }
            out.append((label, (timings[0].p50, timings[1].p50)))
        }
        return out
    }

    /// Starts one hub with one real agent on each database, runs `body`, and stops them however it ends.
    private func withHubs<T>(
        _ databases: [Database], options: BenchOptions, agent: String, _ body: ([BenchHub]) async throws -> T
    ) async throws -> T {
        var hubs: [BenchHub] = []
        do {
            for database in databases {
                let hub = try await BenchHub.start(options, in: database.directory, environment: database.environment)
                hubs.append(hub)
                let token = try await hub.registrationToken(forNewType: "bench-\(agent)")
                try await hub.createTarget("history-\(agent)")
                try hub.startAgent(name: "history-\(agent)", registrationToken: token)
                try await hub.waitUntilOnline("history-\(agent)")
            }
            let result = try await body(hubs)
            for hub in hubs { await hub.stop() }
            return result
        } catch {
            for hub in hubs {
                await hub.stop()
                log("history: hub output (last lines):\n" + hub.process.output().suffix(1500))
            }
            throw error
        }
    }

    /// Warms up, then runs `count` tasks on every hub, the one going first alternating.
    private func series(_ hubs: [BenchHub], target: String, count: Int) async throws -> [Series] {
        var series = Array(repeating: Series(), count: hubs.count)
        for i in 0 ..< (count + 20) {
            let order = i % 2 == 0 ? Array(hubs.indices) : hubs.indices.reversed()
            for k in order {
                let run = try await submitAndWait(hubs[k], target: target)
                guard i >= 20 else { continue }
                series[k].toResult.add(run.total)
                series[k].submitCall.add(run.submit)
                series[k].toStarted.add(run.started)
            }
        }
        return series
    }

    private struct Run {
        var submit: Double
        var total: Double
        var started: Double
    }

    /// Submits one task printing `$EPOCHREALTIME` (a bash builtin: the script's first
    /// act stamps the wall clock) and waits for its result; the task must succeed.
    private func submitAndWait(_ hub: BenchHub, target: String) async throws -> Run {
        let submittedAt = Date().timeIntervalSince1970
        let start = ContinuousClock.now
        let created = try await hub.submit(target, script: "echo $EPOCHREALTIME")
        let submitted = ContinuousClock.now
        var task = created
        while !task.status.isTerminal { task = try await hub.admin.task(id: created.id, waitSeconds: 30) }
        let total = (ContinuousClock.now - start).seconds
        guard task.status == .succeeded else {
            throw BenchError("task \(task.id) ended \(task.status.rawValue): \(task.error ?? "")")
        }
        let page = try await hub.admin.readLog(taskID: task.id)
        let text = String(decoding: page.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let started = Double(text) else { throw BenchError("task \(task.id) printed \"\(text)\", not a time") }
        return Run(submit: (submitted - start).seconds, total: total, started: started - submittedAt)
    }
}
