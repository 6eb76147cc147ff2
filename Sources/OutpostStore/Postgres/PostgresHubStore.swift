package import Logging
import NIOCore
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit

/// The shared store: one PostgreSQL database that several hub replicas use at once.
///
/// A pool of `settings.poolSize` connections (`PostgresConnectionPool`); each
/// operation leases one, runs its transaction and gives it back. The queries are the
/// ones every `SQLHubStore` shares; this type owns the pool and the way in.
///
/// Nothing hangs: `connect` checks the server once, with the connect timeout, and
/// fails naming what went wrong (unreachable, TLS, password, database, permission);
/// later, while the server is unreachable, each operation fails within the connect
/// timeout, and one that finds every connection busy waits a minute at most.
package final class PostgresHubStore: SQLHubStore {
    let dialect = StoreDialect.postgres
    let logger: Logger
    package let settings: PostgresSettings
    private let pool: PostgresConnectionPool
    private let tls: TLS
    typealias TLS = PostgresConnection.Configuration.TLS

    private init(settings: PostgresSettings, tls: TLS, logger: Logger) {
        self.settings = settings
        self.tls = tls
        self.logger = logger
        let configuration = Self.connectionConfiguration(settings, tls: tls)
        let limit = settings.connectTimeout + .seconds(1)
        pool = PostgresConnectionPool(maximum: settings.poolSize) { id in
            do {
                return try await withDeadline(limit) {
                    try await PostgresConnection.connect(configuration: configuration, id: id, logger: Self.quiet)
                }
            } catch is DeadlineExceeded {
                throw PostgresConnectionPoolFailure(description: "cannot connect: no answer within \(settings.connectTimeout)")
            }
        }
    }

    /// A connection of its own, outside the pool, for a session that must last
    /// (LISTEN, the leader lock). The caller closes it.
    func dedicatedConnection() async throws -> GuardedConnection {
        GuardedConnection(
            try await PostgresConnection.connect(
                configuration: Self.connectionConfiguration(settings, tls: tls), id: 0, logger: Self.quiet))
    }

    /// Connects, after checking with one direct connection that the server answers,
    /// the login works and the user may create tables. Call `migrate()` next.
    /// - Throws: `.database` naming the server (never the password) and the cause.
    package static func connect(_ settings: PostgresSettings, logger: Logger) async throws(StoreError)
        -> PostgresHubStore
    {
        let tls = try tlsSettings(settings)
        try await probe(settings, tls: tls, logger: logger)
        return PostgresHubStore(settings: settings, tls: tls, logger: logger)
    }

    package func shutdown() async {
        await pool.shutDown()
    }

    func write<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        try await transaction(operation, begin: dialect.beginWrite, body)
    }

    func read<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        try await transaction(operation, begin: dialect.beginRead, body)
    }

    /// Runs `body` on a leased connection outside any transaction (one statement at a
    /// time, each its own): for statements such as `NOTIFY` that must not wait for a
    /// data transaction's commit.
    func autocommit<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.withConnection { connection in
                try await body(connection.sql())
            }
        } catch {
            throw dialect.storeError(error, while: operation)
        }
    }

    private func transaction<T>(
        _ operation: String, begin: String, _ body: (any SQLDatabase) async throws -> T
    ) async throws(StoreError) -> T {
        do {
            do {
                return try await attempt(begin: begin, body)
            } catch let failure as BeginFailed where failure.connectionLost {
                // Nothing ran: a connection the server had just ended (a restart, a
                // terminated session) is replaced, once, by a fresh one.
                return try await attempt(begin: begin, body)
            }
        } catch let failure as BeginFailed {
            throw dialect.storeError(failure.cause, while: operation)
        } catch {
            throw dialect.storeError(error, while: operation)
        }
    }

    /// One transaction on one leased connection.
    private func attempt<T>(begin: String, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await pool.withConnection { connection in
            let db = connection.sql()
            do {
                try await db.raw(SQLQueryString(begin)).run()
            } catch {
                let lost = connection.isClosed || PostgresFailure.isConnectionLost(error)
                if lost { await connection.close() }
                throw BeginFailed(cause: error, connectionLost: lost)
            }
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                do {
                    try await db.raw("ROLLBACK").run()
                } catch {
                    // In an unknown state, or lost: the pool must not lease it again.
                    await connection.close()
                }
                throw error
            }
        }
    }

    /// A transaction's `BEGIN` failed, so none of its statements ran.
    private struct BeginFailed: Error {
        var cause: any Error
        /// The connection was lost (found closed, or the server ended the session), so
        /// another may well succeed.
        var connectionLost: Bool
    }

    // MARK: Connecting

    private static let quiet = Logger(label: "outpost.store.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// `application_name` shows the hub in `pg_stat_activity`; `search_path` picks the schema when one is set.
    static func startupParameters(_ settings: PostgresSettings) -> [(String, String)] {
        guard let schema = settings.schema else { return [("application_name", "outpost-hub")] }
        return [("application_name", "outpost-hub/\(schema)"), ("search_path", schema)]
    }

    /// libpq's sslmode, in NIOSSL's terms.
    private static func tlsSettings(_ settings: PostgresSettings) throws(StoreError) -> TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch settings.sslMode {
        case .disable:
            return .disable
        case .prefer:
            tls.certificateVerification = .none
        case .require:
            // As libpq: with a root certificate, `require` verifies the chain.
            tls.certificateVerification = settings.sslRootCertificate == nil ? .none : .noHostnameVerification
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if let file = settings.sslRootCertificate {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            } catch {
                throw StoreError(.database, "cannot read sslrootcert \(file): \(error)")
            }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw StoreError(.database, "cannot set up TLS for \(settings): \(error)")
        }
        return settings.sslMode == .prefer ? .prefer(context) : .require(context)
    }

    /// One direct connection, bounded by the connect timeout: the error a user sees
    /// when the URL, the password, the network or the grants are wrong.
    private static func connectionConfiguration(_ settings: PostgresSettings, tls: TLS) -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: tls)
        configuration.options.connectTimeout = .nanoseconds(Int64(settings.connectTimeout.components.seconds) * 1_000_000_000)
        configuration.options.additionalStartupParameters = startupParameters(settings)
        return configuration
    }

    private static func probe(_ settings: PostgresSettings, tls: TLS, logger: Logger) async throws(StoreError) {
        let configuration = connectionConfiguration(settings, tls: tls)
        let connection: PostgresConnection
        let configured = configuration
        do {
            connection = try await withDeadline(settings.connectTimeout + .seconds(1)) {
                try await PostgresConnection.connect(configuration: configured, id: 0, logger: quiet)
            }
        } catch {
            throw StoreError(.database, "cannot connect to \(settings): \(describe(error, settings))")
        }
        do {
            let db = connection.sql(queryLogLevel: nil)
            // The hub creates its tables on first start: the user needs CREATE on the schema it will use.
            let row = try await db.raw(
                "SELECT has_schema_privilege(current_schema(), 'CREATE') AS can_create, current_schema() AS schema"
            ).first()
            let schema = try row?.decode(column: "schema", as: String?.self)
            guard let schema else {
                throw StoreError(
                    .database,
                    "\(settings): the search path names no existing schema"
                        + (settings.schema.map { " (schema \($0) does not exist)" } ?? ""))
            }
            if try row?.decode(column: "can_create", as: Bool.self) != true {
                throw StoreError(
                    .database,
                    "\(settings): user \(settings.user) may not create tables in schema \(schema) "
                        + "(GRANT CREATE ON SCHEMA \(schema) TO \(settings.user))")
            }
            try? await connection.close()
        } catch let error as StoreError {
            try? await connection.close()
            throw error
        } catch {
            try? await connection.close()
            throw StoreError(.database, "\(settings): \(PostgresFailure.describe(error))")
        }
    }

    /// The cause of a failed connection, with what the user can do about the common ones.
    private static func describe(_ error: any Error, _ settings: PostgresSettings) -> String {
        if error is DeadlineExceeded { return "no answer within \(settings.connectTimeout)" }
        switch PostgresFailure.sqlState(of: error) {
        case "28P01", "28000":
            return "the server refused user \(settings.user): wrong password or no pg_hba.conf entry "
                + "(\(PostgresFailure.describe(error)))"
        case "3D000":
            return "database \(settings.database) does not exist (create it: CREATE DATABASE \(settings.database))"
        default:
            return PostgresFailure.describe(error)
        }
    }
}
