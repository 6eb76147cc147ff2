import Foundation
import Logging
package import OutpostStore
import PostgresNIO

/// The PostgreSQL server `scripts/test` starts for the whole run (`OUTPOST_POSTGRES_*`),
/// and throw-away schemas and databases on it, so tests never share tables.
package enum TestPostgres {
    /// Whether the server is there. Off a full run (`swift test` by hand) PostgreSQL
    /// tests are skipped; on a full run (`OUTPOST_REQUIRE_MOTO=1`) they must run.
    package static var isAvailable: Bool { environment["OUTPOST_POSTGRES_PORT"] != nil }

    /// Whether the run promised every real service (`scripts/test`).
    package static var isRequired: Bool { environment["OUTPOST_REQUIRE_MOTO"] == "1" }

    private static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Settings for `database` (and a schema in it), or `nil` without a server.
    package static func settings(database: String = "postgres", schema: String? = nil) -> PostgresSettings? {
        guard let port = environment["OUTPOST_POSTGRES_PORT"].flatMap(Int.init) else { return nil }
        return PostgresSettings(
            host: environment["OUTPOST_POSTGRES_HOST"] ?? "127.0.0.1", port: port,
            user: environment["OUTPOST_POSTGRES_USER"] ?? "outpost",
            password: environment["OUTPOST_POSTGRES_PASSWORD"], database: database, sslMode: .disable,
            poolSize: 2, schema: schema)
    }

    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=disable`, as `outpost server --database` takes it.
    package static func url(database: String) -> String? {
        guard let settings = settings(database: database) else { return nil }
        let password = settings.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        return "postgres://\(settings.user)\(password)@\(settings.host):\(settings.port)/\(database)?sslmode=disable"
    }

    /// Runs `body` with settings whose search path is a new, empty schema, dropped afterwards.
    package static func withSchema<T>(_ body: (PostgresSettings) async throws -> T) async throws -> T {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await execute("CREATE SCHEMA \(name)")
        guard let settings = settings(schema: name) else { throw Unavailable() }
        do {
            let result = try await body(settings)
            try? await execute("DROP SCHEMA \(name) CASCADE")
            return result
        } catch {
            try? await execute("DROP SCHEMA \(name) CASCADE")
            throw error
        }
    }

    /// A new, empty database (for `outpost server` processes, which use the default schema). Returns its name.
    package static func createDatabase(prefix: String = "outpost_test") async throws -> String {
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try await execute("CREATE DATABASE \(name)")
        return name
    }

    package static func dropDatabase(_ name: String) async {
        _ = try? await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs one statement on `database` and returns the first column of every row, as text.
    @discardableResult
    package static func execute(_ sql: String, database: String = "postgres") async throws -> [String?] {
        guard let settings = settings(database: database) else { throw Unavailable() }
        let configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: database, tls: .disable)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: quiet)
        } catch {
            throw TestPostgresError(statement: sql, cause: "connecting: " + String(reflecting: error))
        }
        do {
            var values: [String?] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quiet) {
                let cell = row.first
                values.append(cell.flatMap { $0.bytes == nil ? nil : try? $0.decode(String.self) })
            }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw TestPostgresError(statement: sql, cause: String(reflecting: error))
        }
    }

    /// Every row of every table of the hub in `database`, each as PostgreSQL's text
    /// form of the whole row (`t::text`), to search for a value that must not be there.
    package static func allRows(database: String) async throws -> [(table: String, row: String)] {
        let tables = try await execute(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
            database: database
        ).compactMap { $0 }
        var rows: [(String, String)] = []
        for table in tables {
            for row in try await execute("SELECT t::text FROM \(table) t", database: database) {
                rows.append((table, row ?? ""))
            }
        }
        return rows
    }

    /// The bytes of every WAL segment of the test server (`OUTPOST_POSTGRES_DATA`), or
    /// `nil` when the data directory is not known.
    package static func writeAheadLog() -> [(file: String, bytes: [UInt8])]? {
        guard let data = environment["OUTPOST_POSTGRES_DATA"] else { return nil }
        let directory = data + "/pg_wal"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        return names.sorted().compactMap { name in
            let path = directory + "/" + name
            guard let contents = FileManager.default.contents(atPath: path) else { return nil }
            return (path, [UInt8](contents))
        }
    }

    private static let quiet = Logger(label: "outpost.tests.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    package struct Unavailable: Error, CustomStringConvertible {
        package init() {}
        package var description: String { "OUTPOST_POSTGRES_* is not set: run the tests with scripts/test" }
    }
}

package struct TestPostgresError: Error, CustomStringConvertible {
    package var statement: String
    package var cause: String
    package var description: String { "\(statement): \(cause)" }
}
