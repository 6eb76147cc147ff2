import SQLKit

/// Lends the store's single SQLite connection to one operation at a time, in
/// arrival order, and commits writes that queue up behind a busy connection
/// together (group commit).
///
/// SQLite serialises writers anyway; doing it here as well keeps one operation's
/// `BEGIN … COMMIT` from interleaving with another's statements on the shared
/// connection (an actor alone would not: it is re-entrant at every `await`), and
/// keeps a reader from seeing another operation's uncommitted rows.
///
/// Group commit: a writer whose turn comes leads every write queued by then (up to
/// `maxGroup`) in one transaction, each in a savepoint of its own, so one failing
/// write rolls back alone. Every writer of the group learns its outcome only after
/// the one `COMMIT`: nothing is reported done that is not durable. Under load a
/// task's transitions (claims, starts, log chunks, finishes of many agents) share
/// transactions, so each database page they touch is written to the WAL once per
/// group instead of once per call; a lone write costs what it did.
///
/// A caller waiting for its turn is not interrupted by task cancellation: every
/// turn is a short transaction, and an operation abandoned half-way would leave
/// the connection inside a transaction.
actor ConnectionGate {
    /// Most writes one transaction commits: bounds the wait of the first of them.
    static let maxGroup = 64

    private enum Waiter {
        case turn(CheckedContinuation<Void, Never>)
        case write(GroupedWrite)
    }

    /// Writes and the transactions that committed them, since the store opened.
    struct Statistics: Sendable, Equatable {
        var writes = 0
        var transactions = 0
    }

    private var connection: SQLiteDirectConnection?
    private var busy = false
    private var waiters: [Waiter] = []
    private(set) var statistics = Statistics()

    /// Writes waiting for their turn (tests watch a group form).
    var queuedWrites: Int {
        waiters.count { if case .write = $0 { true } else { false } }
    }

    init(connection: SQLiteDirectConnection) {
        self.connection = connection
    }

    /// Waits for the connection; the caller must `release()` it exactly once.
    /// - Throws: `.database` once the store was shut down (the turn is released already).
    func acquire() async throws(StoreError) -> SQLiteDirectConnection {
        if busy {
            await withCheckedContinuation { waiters.append(.turn($0)) }
            // `release()` handed the turn over with `busy` still set.
        } else {
            busy = true
        }
        return try lentConnection()
    }

    /// Queues `write`. Returns the connection when the caller is to lead a group
    /// (then it calls `takeQueuedWrites()`, runs them, and `release()`s), or `nil`
    /// when another leader ran `write` in its group (its outcome is on `write`).
    /// - Throws: `.database` once the store was shut down (the turn is released already).
    func acquire(for write: GroupedWrite) async throws(StoreError) -> SQLiteDirectConnection? {
        if busy {
            let role = await withCheckedContinuation { continuation in
                write.continuation = continuation
                waiters.append(.write(write))
            }
            guard role == .lead else { return nil }
        } else {
            busy = true
        }
        return try lentConnection()
    }

    /// The writes queued now, in arrival order (at most `maxGroup - 1`, the leader's
    /// own being the first), taken off the queue: the leader runs them.
    func takeQueuedWrites() -> [GroupedWrite] {
        var taken: [GroupedWrite] = []
        waiters.removeAll { waiter in
            guard taken.count < Self.maxGroup - 1, case .write(let write) = waiter else { return false }
            taken.append(write)
            return true
        }
        return taken
    }

    /// Counts one committed transaction of `writes` writes.
    func committed(writes: Int) {
        statistics.writes += writes
        statistics.transactions += 1
    }

    /// Ends the current turn and hands the connection to the next waiter, if any.
    func release() {
        guard !waiters.isEmpty else {
            busy = false
            return
        }
        switch waiters.removeFirst() {
        case .turn(let continuation): continuation.resume()
        case .write(let write): write.resume(.lead)
        }
    }

    /// Waits for the running operations ahead of it, then closes the connection;
    /// later `acquire()` calls fail.
    func close() async {
        guard let connection = try? await acquire() else { return }
        self.connection = nil
        connection.close()
        release()
    }

    private func lentConnection() throws(StoreError) -> SQLiteDirectConnection {
        guard let connection else {
            release()
            throw StoreError(.database, "the store is shut down")
        }
        return connection
    }
}

/// One write waiting in the gate: its statements, and once a group ran it, its outcome.
///
/// `@unchecked Sendable`: the gate sets `continuation` under its isolation before the
/// write is visible to any leader; a leader alone runs `body` and sets `failure`,
/// then resumes the writer, which reads `failure` only after that.
final class GroupedWrite: @unchecked Sendable {
    enum Role: Sendable { case lead, done }

    let operation: String
    /// Dropped once run: it captures a closure its writer passed without escaping,
    /// which must hold no reference by the time the writer is resumed.
    private(set) var body: ((any SQLDatabase) async throws -> Void)?
    /// Set by the leader when `body` or the group's commit failed.
    var failure: StoreError?
    fileprivate var continuation: CheckedContinuation<Role, Never>?

    init(operation: String, body: @escaping (any SQLDatabase) async throws -> Void) {
        self.operation = operation
        self.body = body
    }

    /// Runs the write's statements, once.
    func run(on db: any SQLDatabase) async throws {
        defer { body = nil }
        try await body?(db)
    }

    /// Drops the statements unrun (the group failed before reaching them).
    func discard() {
        body = nil
    }

    /// Tells the writer it leads a group (`.lead`), or that its group committed or failed (`.done`).
    func resume(_ role: Role) {
        continuation?.resume(returning: role)
        continuation = nil
    }
}
