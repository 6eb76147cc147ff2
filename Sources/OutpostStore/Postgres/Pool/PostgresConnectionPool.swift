import PostgresNIO

/// At most `maximum` connections to PostgreSQL, leased one operation at a time.
///
/// `ConnectionPoolState` makes every decision; this actor performs them: it opens
/// connections (each attempt bounded by `connect`'s own deadline), resumes waiting
/// callers, and closes what is given back broken. Nothing waits without bound:
/// a caller waits at most `leaseTimeout` for a busy pool, and an unreachable server
/// fails each attempt within the connect timeout. A connection the server ended
/// while idle (a restart, `pg_terminate_backend`, an idle timeout) is noticed
/// before it is leased and replaced; one idle for a minute is closed rather than
/// trusted.
actor PostgresConnectionPool {
    typealias Connect = @Sendable (_ id: Int) async throws -> PostgresConnection

    private var state: ConnectionPoolState<GuardedConnection>
    private var waiting: [UInt64: CheckedContinuation<Grant, any Error>] = [:]
    private var nextWaiter: UInt64 = 0
    private var nextConnectionID = 1
    private let connect: Connect
    private let leaseTimeout: Duration
    private let clock: ContinuousClock

    private static let closed = PostgresConnectionPoolFailure(description: "the store is shut down")

    /// What a woken caller was given.
    private enum Grant: Sendable {
        case connection(GuardedConnection)
        case open
    }

    init(
        maximum: Int, leaseTimeout: Duration = .seconds(60), idleTimeout: Duration = .seconds(60),
        clock: ContinuousClock = ContinuousClock(), connect: @escaping Connect
    ) {
        state = ConnectionPoolState(maximum: maximum, idleTimeout: idleTimeout)
        self.leaseTimeout = leaseTimeout
        self.clock = clock
        self.connect = connect
    }

    /// Runs `body` on a leased connection and gives it back, closed if it broke.
    nonisolated func withConnection<T>(_ body: (GuardedConnection) async throws -> T) async throws -> T {
        let connection = try await lease()
        do {
            let result = try await body(connection)
            await giveBack(connection)
            return result
        } catch {
            // A session the server ended may not look closed yet: never lease it again.
            await giveBack(connection, lost: PostgresFailure.isConnectionLost(error))
            throw error
        }
    }

    /// Closes the idle connections and fails the waiting callers; leased ones are
    /// closed as they come back.
    func shutDown() async {
        let (idle, waiters) = state.shutDown()
        for waiter in waiters { waiting.removeValue(forKey: waiter)?.resume(throwing: Self.closed) }
        for connection in idle { await connection.close() }
    }

    struct Counts: Equatable {
        /// Connections open or being opened.
        var connections: Int
        /// Callers waiting for one.
        var waiting: Int
    }

    var counts: Counts { Counts(connections: state.count, waiting: state.waiters.count) }

    // MARK: Leasing

    private func lease() async throws -> GuardedConnection {
        wake(state.dropIdle(where: { $0.isClosed }))
        for connection in state.expireIdle(at: clock.now) {
            Task { await connection.close() }
        }
        let waiter = nextWaiter
        nextWaiter += 1
        switch state.lease(waiter) {
        case .use(let connection):
            return connection
        case .open:
            return try await open()
        case .shutDown:
            throw Self.closed
        case .wait:
            switch try await wait(waiter) {
            case .connection(let connection):
                guard connection.isClosed else { return connection }
                // Closed while handed over: give its room back and ask again.
                await giveBack(connection)
                return try await lease()
            case .open:
                return try await open()
            }
        }
    }

    private func open() async throws -> GuardedConnection {
        let id = nextConnectionID
        nextConnectionID += 1
        let connection: GuardedConnection
        do {
            connection = GuardedConnection(try await connect(id))
        } catch {
            wake(state.openFailed().map { [$0] } ?? [])
            throw error
        }
        guard state.opened() else {
            await connection.close()
            throw Self.closed
        }
        return connection
    }

    private func giveBack(_ connection: GuardedConnection, lost: Bool = false) async {
        switch state.giveBack(connection, reusable: !lost && !connection.isClosed, at: clock.now) {
        case .keep:
            break
        case .wake(let wake):
            self.wake([wake])
        case .close(let wake):
            self.wake(wake.map { [$0] } ?? [])
            await connection.close()
        }
    }

    // MARK: Waiting

    private func wait(_ waiter: UInt64) async throws -> Grant {
        let timeout = Task { [leaseTimeout] in
            try await Task.sleep(for: leaseTimeout, clock: clock)
            self.stopWaiting(waiter, because: PostgresConnectionPoolFailure(
                description: "every connection to the server stayed busy for \(leaseTimeout)"))
        }
        defer { timeout.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting[waiter] = continuation
            }
        } onCancel: {
            Task { await self.stopWaiting(waiter, because: CancellationError()) }
        }
    }

    private func stopWaiting(_ waiter: UInt64, because error: any Error) {
        // Already woken: it has its connection and gives it back as usual.
        guard state.stopWaiting(waiter) else { return }
        waiting.removeValue(forKey: waiter)?.resume(throwing: error)
    }

    private func wake(_ wakes: [ConnectionPoolState<GuardedConnection>.Wake]) {
        for wake in wakes {
            switch wake {
            case .handOver(let waiter, let connection):
                waiting.removeValue(forKey: waiter)?.resume(returning: .connection(connection))
            case .open(let waiter):
                waiting.removeValue(forKey: waiter)?.resume(returning: .open)
            }
        }
    }
}
