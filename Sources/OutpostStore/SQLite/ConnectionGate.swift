/// Lends the store's single SQLite connection to one operation at a time, in
/// arrival order.
///
/// SQLite serialises writers anyway; doing it here as well keeps one operation's
/// `BEGIN … COMMIT` from interleaving with another's statements on the shared
/// connection (an actor alone would not: it is re-entrant at every `await`), and
/// keeps a reader from seeing another operation's uncommitted rows.
///
/// A caller waiting for its turn is not interrupted by task cancellation: every
/// turn is a short transaction, and an operation abandoned half-way would leave
/// the connection inside a transaction.
actor ConnectionGate {
    private var connection: SQLiteDirectConnection?
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(connection: SQLiteDirectConnection) {
        self.connection = connection
    }

    /// Waits for the connection; the caller must `release()` it exactly once.
    /// - Throws: `.database` once the store was shut down (the turn is released already).
    func acquire() async throws(StoreError) -> SQLiteDirectConnection {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
            // `release()` handed the turn over with `busy` still set.
        } else {
            busy = true
        }
        guard let connection else {
            release()
            throw StoreError(.database, "the store is shut down")
        }
        return connection
    }

    /// Ends the current turn and hands the connection to the next waiter, if any.
    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
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
}
