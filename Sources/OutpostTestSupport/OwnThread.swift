import Foundation

/// Runs blocking work — raw sockets, a child process waited for — on a thread of its
/// own and suspends until it is done.
///
/// Swift's concurrency runs every test's tasks on as many threads as there are cores
/// (two here). A test that blocks one of them slows every other test of the run, and
/// timing checks elsewhere (a 200 ms timeout, a bounded retry) fail for no fault of
/// their own. Blocking calls in tests go through here.
package func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// `onOwnThread` for work that cannot fail.
package func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
