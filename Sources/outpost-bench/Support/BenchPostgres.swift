import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server of the `replicas` scenario: the one `OUTPOST_BENCH_DATABASE_URL`
/// names, or a throw-away one that `scripts/services/postgres` starts for the run
/// (`--postgres-service`, in `--postgres-dir`, never the test command's cluster) and
/// stops again at the end. Each configuration gets a database of its own.
final class BenchPostgres: Sendable {
    let host: String
    let port: Int
    let user: String
    let password: String?
    /// The database the bench connects to for `CREATE DATABASE` and the statistics.
    let adminDatabase: String
    /// The server's data directory when the bench started it (for its processes' CPU time).
    let dataDirectory: String?
    /// `TMPDIR` of the service script, when the bench started the server: `stop` needs it again.
    private let serviceDirectory: String?
    private let service: String?

    /// The environment variable naming an existing server instead.
    static let urlVariable = "OUTPOST_BENCH_DATABASE_URL"

    private init(
        host: String, port: Int, user: String, password: String?, adminDatabase: String, dataDirectory: String?,
        service: String?, serviceDirectory: String?
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.adminDatabase = adminDatabase
        self.dataDirectory = dataDirectory
        self.service = service
        self.serviceDirectory = serviceDirectory
    }

    /// Runs `body` with the server of `OUTPOST_BENCH_DATABASE_URL`, or with one started
    /// for it and stopped however `body` ends.
    static func with<T>(_ options: BenchOptions, _ body: (BenchPostgres) async throws -> T) async throws -> T {
        if let url = ProcessInfo.processInfo.environment[urlVariable], !url.isEmpty {
            return try await body(try parse(url))
        }
        guard let service = options.postgresService else {
            throw BenchError(
                "the replicas scenario needs PostgreSQL: set \(urlVariable)=postgres://USER:PASS@HOST:PORT/postgres"
                    + " or pass --postgres-service scripts/services/postgres (scripts/bench does)")
        }
        let directory = options.postgresDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("outpost-bench-postgres").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        log("replicas: starting a throw-away PostgreSQL server (\(service) start, TMPDIR=\(directory))")
        let output = try runService(service, "start", directory: directory)
        var assignments: [String: String] = [:]
        for word in output.split(whereSeparator: \.isWhitespace) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { assignments[String(parts[0])] = String(parts[1]) }
        }
        guard let port = assignments["OUTPOST_POSTGRES_PORT"].flatMap({ Int($0) }) else {
            _ = try? runService(service, "stop", directory: directory)
            throw BenchError("\(service) start printed no OUTPOST_POSTGRES_PORT: \(output)")
        }
        let postgres = BenchPostgres(
            host: assignments["OUTPOST_POSTGRES_HOST"] ?? "127.0.0.1", port: port,
            user: assignments["OUTPOST_POSTGRES_USER"] ?? "outpost", password: assignments["OUTPOST_POSTGRES_PASSWORD"],
            adminDatabase: "postgres", dataDirectory: assignments["OUTPOST_POSTGRES_DATA"], service: service,
            serviceDirectory: directory)
        do {
            let result = try await body(postgres)
            postgres.stop()
            return result
        } catch {
            postgres.stop()
            throw error
        }
    }

    /// `postgres://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?...]`.
    static func parse(_ text: String) throws -> BenchPostgres {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
              let host = url.host, !host.isEmpty
        else { throw BenchError("\(urlVariable) is not a postgres://USER:PASS@HOST:PORT/DATABASE URL") }
        let database = url.path.hasPrefix("/") && url.path.count > 1 ? String(url.path.dropFirst()) : "postgres"
        return BenchPostgres(
            host: host, port: url.port ?? 5432, user: url.user ?? "postgres", password: url.password,
            adminDatabase: database, dataDirectory: nil, service: nil, serviceDirectory: nil)
    }

    /// Stops the server if the bench started it (and removes its files).
    private func stop() {
        guard let service, let serviceDirectory else { return }
        log("replicas: stopping the throw-away PostgreSQL server")
        _ = try? Self.runService(service, "stop", directory: serviceDirectory)
    }

    private static func runService(_ service: String, _ verb: String, directory: String) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = directory
        let outputPath = directory + "/service-\(verb).out"
        let code = try Spawn.run([service, verb], environment: environment, outputPath: outputPath)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outputPath)
        guard code == 0 else { throw BenchError("\(service) \(verb) exited with \(code) (its messages are above)") }
        return output
    }

    /// `postgres://...` for `outpost server --database`.
    func url(database: String) -> String {
        let secret = password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        return "postgres://\(user)\(secret)@\(host):\(port)/\(database)?sslmode=disable"
    }

    /// A new, empty database; returns its name.
    func createDatabase(_ prefix: String) async throws -> String {
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(8)
        try await execute("CREATE DATABASE \(name)")
        return name
    }

    func dropDatabase(_ name: String) async {
        _ = try? await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// What PostgreSQL counted for one database so far (`pg_stat_database`).
    struct Statistics: Sendable {
        /// Committed transactions, read-only ones included.
        var commits: Int64 = 0
        /// Rows inserted, updated and deleted.
        var rowsWritten: Int64 = 0

        static func - (lhs: Statistics, rhs: Statistics) -> Statistics {
            Statistics(commits: lhs.commits - rhs.commits, rowsWritten: lhs.rowsWritten - rhs.rowsWritten)
        }
    }

    /// The database's counters now. A backend reports its counts at most once a second
    /// (and within about a second of going idle): callers wait that long after the work.
    func statistics(of database: String) async throws -> Statistics {
        let row = try await execute(
            "SELECT xact_commit::text, (tup_inserted + tup_updated + tup_deleted)::text FROM pg_stat_database"
                + " WHERE datname = '\(database)'"
        ).first
        guard let row, row.count == 2, let commits = row[0].flatMap({ Int64($0) }),
              let written = row[1].flatMap({ Int64($0) })
        else { throw BenchError("pg_stat_database has no row for \(database)") }
        return Statistics(commits: commits, rowsWritten: written)
    }

    /// CPU seconds of the server's processes when the bench started it on this machine:
    /// the postmaster, its live children, and the children it reaped (backends the hubs'
    /// pools closed after a minute idle); `nil` for a server given by URL.
    func serverCPUSeconds() -> Double? {
        guard let dataDirectory,
              let pidText = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
              let postmaster = pidText.split(separator: "\n").first.flatMap({ Int32($0) })
        else { return nil }
        var total = ProcessProbe(pid: postmaster).cpuSeconds(reapedChildren: true)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != postmaster, ProcessProbe(pid: pid).parentPID() == postmaster else { continue }
            total += ProcessProbe(pid: pid).cpuSeconds()
        }
        return total
    }

    /// Runs one statement on the admin database and returns every row's columns as text.
    @discardableResult
    func execute(_ sql: String) async throws -> [[String?]] {
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: adminDatabase, tls: .disable)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Self.quiet)
        } catch {
            throw BenchError("cannot connect to PostgreSQL at \(host):\(port): \(String(reflecting: error))")
        }
        do {
            var rows: [[String?]] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.quiet) {
                rows.append(row.map { cell in cell.bytes == nil ? nil : try? cell.decode(String.self) })
            }
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw BenchError("\(sql): \(String(reflecting: error))")
        }
    }

    private static let quiet = Logger(label: "outpost.bench.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
