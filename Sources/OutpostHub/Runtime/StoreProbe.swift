import Foundation
import OutpostStore
import Synchronization

/// Whether the store answers, for `/readyz`: a replica that cannot reach the shared
/// database must leave the load balancer's pool. One cheap read at most every
/// `interval`, however many health checks ask, bounded by `deadline`.
final class StoreProbe: Sendable {
    private let store: any HubStore
    private let interval: Duration
    private let deadline: Duration
    private let last = Mutex<(at: ContinuousClock.Instant, answered: Bool)?>(nil)

    init(store: any HubStore, interval: Duration = .seconds(1), deadline: Duration = .seconds(2)) {
        self.store = store
        self.interval = interval
        self.deadline = deadline
    }

    func answers() async -> Bool {
        let now = ContinuousClock.now
        if let last = last.withLock({ $0 }), now - last.at < interval { return last.answered }
        let store = store
        let answered = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await store.countAPITokens()) != nil }
            group.addTask { [deadline] in
                try? await Task.sleep(for: deadline)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        last.withLock { $0 = (ContinuousClock.now, answered) }
        return answered
    }
}
