/// Which caller gets which connection, and when one is opened or closed: the
/// decisions of `PostgresConnectionPool` as a pure value, tested without I/O.
///
/// Guarantees, whatever order events come in:
/// - at most `maximum` connections exist at once (idle, leased or being opened);
/// - no connection sits idle while a caller waits;
/// - a waiting caller is woken as soon as it can go on: a connection is handed back
///   to it, or room to open one appears (a connection closed, an attempt failed);
/// - waiting callers are served in the order they asked;
/// - a connection idle for `idleTimeout` is not leased again (`expireIdle`): a
///   firewall or NAT may have dropped it without a word, and a statement on it
///   would wait for TCP to give up;
/// - after `shutDown` nothing is leased or opened again.
///
/// The pool this replaces (PostgresNIO's `PostgresClient`) could, after the server
/// ended its sessions, leave a request unserved while a fresh connection sat idle;
/// these rules leave no such state to reach.
struct ConnectionPoolState<Connection> {
    /// What a caller asking for a connection does.
    enum LeaseDecision {
        /// Use this idle connection (now leased).
        case use(Connection)
        /// Open a connection (its slot is reserved), then call `opened` or `openFailed`.
        case open
        /// Wait to be woken (`Wake`), or to time out or be cancelled (`stopWaiting`).
        case wait
        /// The pool is shut down.
        case shutDown
    }

    /// A waiting caller to resume.
    enum Wake {
        /// With this connection (now leased to it).
        case handOver(waiter: UInt64, Connection)
        /// With a reserved slot: it opens a connection itself.
        case open(waiter: UInt64)
    }

    /// What to do with a connection given back.
    enum Return {
        /// Nothing: it is idle now.
        case keep
        /// Close it; wake this caller if one can now open a connection.
        case close(wake: Wake?)
        /// It went straight to this waiting caller.
        case wake(Wake)
    }

    /// A connection nobody uses, and since when.
    struct Idle {
        var connection: Connection
        var since: ContinuousClock.Instant
    }

    let maximum: Int
    let idleTimeout: Duration
    /// Connections nobody uses, the most recently returned last (reused first: it is
    /// the one least likely to have been dropped by the server or a firewall).
    private(set) var idle: [Idle] = []
    private(set) var leased = 0
    private(set) var opening = 0
    /// Callers waiting, oldest first (a few at most: a queue would not pay off).
    private(set) var waiters: [UInt64] = []
    private(set) var isShutDown = false

    init(maximum: Int, idleTimeout: Duration = .seconds(60)) {
        precondition(maximum > 0, "a pool needs room for one connection")
        self.maximum = maximum
        self.idleTimeout = idleTimeout
    }

    /// Connections that exist or are being opened.
    var count: Int { idle.count + leased + opening }

    /// A caller (`waiter` names it if it has to wait) asks for a connection.
    mutating func lease(_ waiter: UInt64) -> LeaseDecision {
        if isShutDown { return .shutDown }
        // Idle connections and waiters never coexist, so taking an idle one jumps no queue.
        if let last = idle.popLast() {
            leased += 1
            return .use(last.connection)
        }
        if waiters.isEmpty, count < maximum {
            opening += 1
            return .open
        }
        waiters.append(waiter)
        return .wait
    }

    /// The caller's new connection is ready and leased to it. `false`: the pool was
    /// shut down meanwhile; the caller closes the connection.
    mutating func opened() -> Bool {
        opening -= 1
        if isShutDown { return false }
        leased += 1
        return true
    }

    /// Opening a connection failed: its slot goes to the oldest waiter, which tries in turn.
    mutating func openFailed() -> Wake? {
        opening -= 1
        return wakeToOpen()
    }

    /// A leased connection comes back; `reusable` is false when it is closed or in an
    /// unknown state (a failed rollback).
    mutating func giveBack(_ connection: Connection, reusable: Bool, at now: ContinuousClock.Instant) -> Return {
        leased -= 1
        guard reusable, !isShutDown else { return .close(wake: wakeToOpen()) }
        if let waiter = waiters.first {
            waiters.removeFirst()
            leased += 1
            return .wake(.handOver(waiter: waiter, connection))
        }
        idle.append(Idle(connection: connection, since: now))
        return .keep
    }

    /// An idle connection found closed (the server ended it): forgotten; its room may
    /// let a waiter open one.
    mutating func dropIdle(where isDead: (Connection) -> Bool) -> [Wake] {
        let before = idle.count
        idle.removeAll { isDead($0.connection) }
        return (0..<(before - idle.count)).compactMap { _ in wakeToOpen() }
    }

    /// Connections idle for `idleTimeout` or longer at `now`: forgotten, for the caller
    /// to close. (Nobody waits while connections are idle, so their room wakes no one.)
    mutating func expireIdle(at now: ContinuousClock.Instant) -> [Connection] {
        let expired = idle.filter { now - $0.since >= idleTimeout }
        idle.removeAll { now - $0.since >= idleTimeout }
        return expired.map(\.connection)
    }

    /// A waiting caller gave up (timed out, cancelled). `false`: it was already woken,
    /// and must take what it was given.
    mutating func stopWaiting(_ waiter: UInt64) -> Bool {
        guard let index = waiters.firstIndex(of: waiter) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// No more leases: returns the idle connections to close and the waiters to fail.
    mutating func shutDown() -> (close: [Connection], fail: [UInt64]) {
        isShutDown = true
        defer {
            idle = []
            waiters = []
        }
        return (idle.map(\.connection), waiters)
    }

    private mutating func wakeToOpen() -> Wake? {
        guard !isShutDown, count < maximum, let waiter = waiters.first else { return nil }
        waiters.removeFirst()
        opening += 1
        return .open(waiter: waiter)
    }
}

extension ConnectionPoolState.Wake: Equatable where Connection: Equatable {}
