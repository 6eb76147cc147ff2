import Logging
import SQLKit

/// A `HubStore` written once over SQLKit, for every SQL database the hub supports.
///
/// Conforming types only say how to run a transaction on their database and
/// which `StoreDialect` they speak; the semantic operations (claim, append,
/// finish, ...) come from this protocol's extensions (`SQLHubStore+Tasks.swift`
/// and siblings). Every task state change there reads the current state, asks
/// `TaskStateMachine`, then updates `WHERE id = ? AND status = <the status read>`,
/// so two writers racing on one task can never both win, whatever the database's
/// isolation level.
protocol SQLHubStore: HubStore {
    var dialect: StoreDialect { get }
    /// Where the store reports what it did (migrations applied); never bound values.
    var logger: Logger { get }

    /// Runs `body` in a transaction that may write; commits when it returns,
    /// rolls back when it throws. Errors come out mapped by `dialect.storeError`.
    /// - Parameter operation: what the caller is doing, for error messages ("claiming task x").
    func write<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T

    /// Runs `body` in a read-only transaction (one consistent snapshot).
    func read<T>(_ operation: String, _ body: (any SQLDatabase) async throws -> T) async throws(StoreError) -> T
}
