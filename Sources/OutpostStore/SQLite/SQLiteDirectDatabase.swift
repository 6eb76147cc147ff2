import Logging
import NIOCore
import NIOPosix
import SQLiteKit

/// SQLKit's view of a `SQLiteDirectConnection`: queries are built and
/// serialised by SQLKit (the same builders the PostgreSQL store uses) and run
/// synchronously on the connection, without leaving the calling task.
struct SQLiteDirectDatabase: SQLDatabase {
    let connection: SQLiteDirectConnection
    let logger: Logger

    private static let encoder = SQLiteDataEncoder()

    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var version: (any SQLDatabaseReportedVersion)? { SQLiteLibraryVersion(intValue: SQLiteDirectConnection.libraryVersion) }
    var dialect: any SQLDialect { SQLiteDialect() }
    /// Binds are never logged: they carry scripts and log bytes.
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        var serializer = SQLSerializer(database: self)
        query.serialize(to: &serializer)
        let binds = try serializer.binds.map { try Self.encoder.encode($0) }
        try connection.execute(serializer.sql, binds) { onRow($0) }
    }
}

/// The linked SQLite library's version, as SQLKit wants it.
struct SQLiteLibraryVersion: SQLDatabaseReportedVersion {
    let intValue: Int

    var stringValue: String { "\(intValue / 1_000_000).\(intValue / 1_000 % 1_000).\(intValue % 1_000)" }

    func isEqual(to other: any SQLDatabaseReportedVersion) -> Bool {
        (other as? Self)?.intValue == intValue
    }

    func isOlder(than other: any SQLDatabaseReportedVersion) -> Bool {
        guard let other = other as? Self else { return false }
        return intValue < other.intValue
    }
}
