import Foundation
import Logging
import OutpostStore
import PostgresNIO

/// A PostgreSQL server for the bench, and fresh databases on it: the one
/// `OUTPOST_BENCH_DATABASE_URL` names (its database serves for `CREATE DATABASE`),
/// or else a throw-away cluster started with `scripts/services/postgres` in a
/// directory of the run's own (never the default `TMPDIR`, which holds the test
/// suite's cluster) and stopped afterwards.
final class HistoryPostgres: Sendable {
    /// Where statements that are not the hub's go: the server's maintenance database.
    let settings: PostgresSettings

    private init(settings: PostgresSettings) {
        self.settings = settings
    }

    /// Runs `body` with a server, stopping a throw-away one however `body` ends.
    static func with<T>(in directory: ScratchDirectory, _ body: (HistoryPostgres) async throws -> T) async throws -> T {
        if let url = ProcessInfo.processInfo.environment["OUTPOST_BENCH_DATABASE_URL"], !url.isEmpty {
            let settings = try PostgresSettings(url: url)
            // The statements here go over plain TCP; the hub itself would honour any sslmode.
            guard settings.sslMode == .disable || settings.sslMode == .prefer else {
                throw BenchError("OUTPOST_BENCH_DATABASE_URL: the bench talks to PostgreSQL without TLS; use sslmode=disable")
            }
            return try await body(HistoryPostgres(settings: settings))
        }
        let state = try directory.subdirectory("postgres")
        let output = try services(["start"], tmpdir: state)
        var values: [String: String] = [:]
        for word in output.split(whereSeparator: \.isWhitespace) {
            let pair = word.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { values[String(pair[0])] = String(pair[1]) }
        }
        guard let port = values["OUTPOST_POSTGRES_PORT"].flatMap(Int.init) else {
            _ = try? services(["stop"], tmpdir: state)
            throw BenchError("scripts/services/postgres start printed no port: \(output)")
        }
        let server = HistoryPostgres(
            settings: PostgresSettings(
                host: values["OUTPOST_POSTGRES_HOST"] ?? "127.0.0.1", port: port,
                user: values["OUTPOST_POSTGRES_USER"] ?? "outpost", password: values["OUTPOST_POSTGRES_PASSWORD"],
                database: "postgres", sslMode: .disable))
        defer { _ = try? services(["stop"], tmpdir: state) }
        return try await body(server)
    }

    /// Creates an empty database and returns its name.
    func createDatabase(prefix: String) async throws -> String {
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try await execute("CREATE DATABASE \(name)")
        return name
    }

    func dropDatabase(_ name: String) async {
        _ = try? await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// `pg_database_size`, in bytes.
    func size(of database: String) async throws -> Int {
        let value = try await execute("SELECT pg_database_size('\(database)')::text").first ?? nil
        guard let bytes = value.flatMap(Int.init) else { throw BenchError("no size for database \(database)") }
        return bytes
    }

    /// What `outpost server --database` takes for `database` on this server.
    func url(database: String) -> String {
        let password = settings.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        return "postgres://\(settings.user)\(password)@\(settings.host):\(settings.port)/\(database)?sslmode=disable"
    }

    /// The store settings for `database` on this server.
    func settings(database: String) -> PostgresSettings {
        var settings = self.settings
        settings.database = database
        return settings
    }

    /// Runs one statement and returns the first column of every row, as text.
    @discardableResult
    func execute(_ sql: String, database: String? = nil) async throws -> [String?] {
        let configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: database ?? settings.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Self.quiet)
        do {
            var values: [String?] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.quiet) {
                let cell = row.first
                values.append(cell.flatMap { $0.bytes == nil ? nil : try? $0.decode(String.self) })
            }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw BenchError("PostgreSQL: \(sql): \(String(reflecting: error))")
        }
    }

    private static let quiet = Logger(label: "outpost.bench.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `scripts/services/postgres` (from the repository root, where `scripts/bench` runs)
    /// and returns its standard output. Through a file and `waitpid`, not `Process` and a pipe:
    /// the server the script leaves running would hold a pipe open.
    private static func services(_ arguments: [String], tmpdir: String) throws -> String {
        let script = FileManager.default.currentDirectoryPath + "/scripts/services/postgres"
        guard FileManager.default.isExecutableFile(atPath: script) else {
            throw BenchError("no \(script): run from the repository root, or set OUTPOST_BENCH_DATABASE_URL")
        }
        let output = tmpdir + "/services-output"
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmpdir
        let command = "\"$0\" \"$@\" >\"$OUTPOST_BENCH_SERVICES_OUTPUT\" 2>&1"
        environment["OUTPOST_BENCH_SERVICES_OUTPUT"] = output
        let run = try Spawn.run(["/bin/sh", "-c", command, script] + arguments, environment: environment)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard run.exitStatus == 0 else {
            throw BenchError("scripts/services/postgres \(arguments.joined(separator: " ")) failed (\(run.exitStatus)): \(text.suffix(500))")
        }
        return text
    }
}
