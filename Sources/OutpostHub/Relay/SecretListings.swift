import Foundation
import OutpostCore
import Synchronization

/// Secret-name listings asked of agents through their poll channel: each request
/// waits here until its agent reports or the wait ends. Holds names only.
final class SecretListings: Sendable {
    private struct Pending {
        var agentID: String
        var continuation: CheckedContinuation<SecretListing?, Never>?
        var result: SecretListing?
    }

    private let pending = Mutex<[String: Pending]>([:])

    /// Registers a request for `agentID`; its id goes to the agent in a control message.
    func open(agentID: String) -> String {
        let id = Identifiers.make(prefix: "lst")
        pending.withLock { $0[id] = Pending(agentID: agentID) }
        return id
    }

    /// Waits for the agent's report, or `nil` once `timeout` passes. Forgets the request.
    func wait(_ id: String, timeout: Duration) async -> SecretListing? {
        let result = await withTaskGroup(of: SecretListing??.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ready: SecretListing?? = self.pending.withLock { table in
                        guard var entry = table[id] else { return .some(nil) }
                        if let result = entry.result { return .some(result) }
                        entry.continuation = continuation
                        table[id] = entry
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .some(nil)
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            self.cancel(id)  // frees the waiting child if the timeout won
            return first ?? nil
        }
        return result
    }

    /// The agent's report. Returns `false` when no such request is open for it.
    func deliver(_ id: String, from agentID: String, listing: SecretListing) -> Bool {
        let continuation: CheckedContinuation<SecretListing?, Never>?? = pending.withLock { table in
            guard var entry = table[id], entry.agentID == agentID else { return .none }
            if let continuation = entry.continuation {
                table[id] = nil
                return .some(continuation)
            }
            entry.result = listing
            table[id] = entry
            return .some(nil)
        }
        guard let continuation else { return false }
        continuation?.resume(returning: listing)
        return true
    }

    private func cancel(_ id: String) {
        let continuation = pending.withLock { table in table.removeValue(forKey: id)?.continuation }
        continuation?.resume(returning: nil)
    }
}
