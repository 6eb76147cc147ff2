import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization

/// A connection to PostgreSQL whose statements all end when it closes: the pool's
/// connections and the cluster's dedicated one.
///
/// PostgresNIO 1.33 loses a statement sent on a connection whose socket has just
/// closed: it hands the statement to the channel without a write promise, the write
/// fails, and the statement's own promise is never completed, so its caller waits
/// for ever. Under `pg_terminate_backend` storms a pool of three hit it within
/// seconds (`PostgresConnectionPoolTests`), and no deadline helps: the wait
/// ignores cancellation. So every statement run through `sql()` also fails, with
/// "the connection to the server was closed", once the connection's close future
/// completes, or at once if it already has.
final class GuardedConnection: Sendable {
    let connection: PostgresConnection
    private let inFlight = Mutex(InFlight())

    private struct InFlight {
        var closed = false
        var statements: [ObjectIdentifier: EventLoopPromise<Void>] = [:]
    }

    static let closedFailure = PostgresConnectionPoolFailure(
        description: "the connection to the server was closed", isConnectionLost: true)

    init(_ connection: PostgresConnection) {
        self.connection = connection
        // One callback per connection (not one per statement, which would pile up on a
        // connection that lives for days).
        connection.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            let orphans = inFlight.withLock { state in
                state.closed = true
                defer { state.statements = [:] }
                return Array(state.statements.values)
            }
            for statement in orphans { statement.fail(Self.closedFailure) }
        }
    }

    var isClosed: Bool { connection.isClosed }

    /// The connection as SQLKit's database. `queryLogLevel` nil: the driver would
    /// otherwise log every bound value (tokens' hashes, logs, scripts).
    func sql() -> any SQLDatabase {
        ClosingDatabase(base: connection.sql(queryLogLevel: nil), owner: self)
    }

    func close() async {
        try? await connection.close()
    }

    /// `statement`'s outcome, or the connection's closing, whichever comes first.
    fileprivate func guarding(_ statement: EventLoopFuture<Void>, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let outcome = eventLoop.makePromise(of: Void.self)
        let key = ObjectIdentifier(outcome.futureResult)
        let closed = inFlight.withLock { state in
            if !state.closed { state.statements[key] = outcome }
            return state.closed
        }
        if closed {
            outcome.fail(Self.closedFailure)
        } else {
            statement.cascade(to: outcome)
        }
        // A promise completed twice keeps its first result: the later one is ignored.
        outcome.futureResult.whenComplete { [weak self] _ in
            _ = self?.inFlight.withLock { $0.statements.removeValue(forKey: key) }
        }
        return outcome.futureResult
    }
}

/// `base`, with every statement guarded by its connection's closing.
private struct ClosingDatabase: SQLDatabaseWrapper {
    let base: any SQLDatabase
    let owner: GuardedConnection

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        owner.guarding(base.execute(sql: query, onRow), on: eventLoop)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await execute(sql: query, onRow).get()
    }
}
