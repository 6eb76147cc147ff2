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
    /// Requests of users on other replicas this replica already passed to its agent
    /// (with when), so a reconciliation does not ask the agent twice.
    private let relayed = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Registers a request for `agentID`; its id goes to the agent in a control message.
    func open(agentID: String) -> String {
        let id = Identifiers.make(prefix: "lst")
        pending.withLock { $0[id] = Pending(agentID: agentID) }
        return id
    }

    /// Whether a user on this replica waits for request `id`.
    func isOpen(_ id: String) -> Bool {
        pending.withLock { $0[id] != nil }
    }

    /// `true` the first time a request of another replica's user is passed to its
    /// agent from here; `false` after that. Forgets requests older than `horizon`.
    func firstRelay(_ id: String, horizon: Duration) -> Bool {
        let now = ContinuousClock.now
        return relayed.withLock { relayed in
            relayed = relayed.filter { now - $0.value < horizon }
            return relayed.updateValue(now, forKey: id) == nil
        }
    }

    /// Waits for the agent's report, or `nil` once `timeout` passes. Forgets the
    /// request unless `keepOpen` (a caller that also looks in the store waits again).
    func wait(_ id: String, timeout: Duration, keepOpen: Bool = false) async -> SecretListing? {
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
            if keepOpen {
                self.detach(id)  // frees the waiting child if the timeout won; the request stays open
            } else {
                self.cancel(id)  // frees the waiting child if the timeout won
            }
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

    /// Ends a wait without closing the request.
    private func detach(_ id: String) {
        let continuation = pending.withLock { table in
            let continuation = table[id]?.continuation
            table[id]?.continuation = nil
            return continuation
        }
        continuation?.resume(returning: nil)
    }

    /// Closes a request nobody waits for any more.
    func close(_ id: String) {
        cancel(id)
    }

    private func cancel(_ id: String) {
        let continuation = pending.withLock { table in table.removeValue(forKey: id)?.continuation }
        continuation?.resume(returning: nil)
    }
}
