import PostgresNIO
import SQLKit

extension StoreDialect {
    /// PostgreSQL through a pool of `PostgresClient` connections, shared by several hub replicas.
    ///
    /// Writers run at READ COMMITTED and lock the rows they will change (`FOR
    /// UPDATE`); every state change is still guarded by the status it read, so the
    /// store stays correct whatever another replica does in between. Readers get one
    /// snapshot for their several statements (REPEATABLE READ, read only).
    static let postgres = StoreDialect(
        name: "PostgreSQL",
        integerType: "BIGINT",
        realType: "DOUBLE PRECISION",
        blobType: "BYTEA",
        beginWrite: "BEGIN ISOLATION LEVEL READ COMMITTED",
        beginRead: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        lockRowsSuffix: " FOR UPDATE",
        claimLockSuffix: " FOR UPDATE SKIP LOCKED",
        migrationLock: "SELECT pg_advisory_xact_lock(\(PostgresAdvisoryLock.migrations.key))",
        tablesQuery: """
            SELECT table_name::text AS name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
            """,
        columnsQuery: { table in
            """
            SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(bind: table) ORDER BY ordinal_position
            """
        },
        // EXCLUSIVE: others may still read (a hub starting up), but every write waits for the commit.
        lockTables: { tables in "LOCK TABLE \(tables.joined(separator: ", ")) IN EXCLUSIVE MODE" },
        refreshStatistics: "ANALYZE tasks, agents",
        constraint: { error in
            switch PostgresFailure.sqlState(of: error) {
            case "23505": .unique
            case "23503": .foreignKey
            case let state? where state.hasPrefix("23"): .other
            default: nil
            }
        },
        describe: { error in PostgresFailure.describe(error) }
    )
}

/// The advisory lock keys the hub takes: one 64-bit number per purpose, the same on every replica.
package enum PostgresAdvisoryLock: Sendable {
    /// Held inside the migration transaction: replicas starting together migrate one at a time.
    case migrations
    /// Held by the session of the replica that does leader-only work (sweeper, retention).
    case leader

    /// "outpost" in ASCII in the high bytes, the purpose in the low ones.
    package var key: Int64 {
        switch self {
        case .migrations: 0x6F75_7470_6F73_0001
        case .leader: 0x6F75_7470_6F73_0002
        }
    }
}

/// What a PostgreSQL error says, without anything a statement carried.
enum PostgresFailure {
    /// The five-character SQLSTATE of a server error, or `nil` for any other error.
    static func sqlState(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Whether `error` says the connection is gone: closed under the statement, or the
    /// session ended by the server (SQLSTATE class 57P: `pg_terminate_backend`, a
    /// shutdown, a server not accepting connections yet). The server sends the
    /// latter just before it closes, so the connection may still look open.
    static func isConnectionLost(_ error: any Error) -> Bool {
        if let failure = error as? PostgresConnectionPoolFailure { return failure.isConnectionLost }
        guard let error = error as? PSQLError else { return false }
        if let state = error.serverInfo?[.sqlState] { return state.hasPrefix("57P") }
        return [.serverClosedConnection, .clientClosedConnection, .uncleanShutdown].contains(error.code)
    }

    /// A message for logs and errors. Server errors give their primary message and
    /// SQLSTATE — never the DETAIL line, which can quote the row that conflicted — and
    /// data exceptions (class 22, whose messages quote the offending value) only their
    /// SQLSTATE. Connection errors give their code and the transport's cause.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else {
            if let pool = error as? PostgresConnectionPoolFailure { return pool.description }
            return String(describing: error)
        }
        if let info = error.serverInfo {
            let state = info[.sqlState] ?? "?????"
            if state.hasPrefix("22") { return "data exception (SQLSTATE \(state))" }
            return "\(info[.message] ?? "server error") (SQLSTATE \(state))"
        }
        switch error.code {
        case .connectionError:
            return "cannot connect: \(error.underlying.map { String(describing: $0) } ?? "connection failed")"
        case .poolClosed:
            return "the store is shut down"
        case .queryCancelled:
            return "cancelled"
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return "the connection to the server was closed" + (error.underlying.map { " (\($0))" } ?? "")
        case .sslUnsupported:
            return "the server does not support TLS (sslmode asks for it)"
        case .failedToAddSSLHandler:
            return "TLS could not be set up: \(error.underlying.map { String(describing: $0) } ?? "unknown cause")"
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword:
            return "the server asks for a password and none was given (URL, PGPASSWORD or database_password_file)"
        case .saslError:
            return "password authentication failed"
        default:
            return "\(error.code)\(error.underlying.map { ": \($0)" } ?? "")"
        }
    }
}

/// A failure of the store's own connection handling, in words: a pool that stayed busy
/// or is shut down, an attempt that got no answer, a connection that closed under a statement.
struct PostgresConnectionPoolFailure: Error, CustomStringConvertible {
    var description: String
    /// The connection a statement ran on closed (`GuardedConnection`).
    var isConnectionLost = false
}
