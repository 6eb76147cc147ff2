import Foundation
import Logging
import OutpostStore
import ServiceLifecycle

/// Keeps one replica in step with the others: runs the cluster channel, applies
/// what the other replicas publish, follows leadership, and reconciles with the
/// store every `ClusterTiming.reconcileInterval` so that a lost message only
/// delays what it announced.
struct ClusterService: Service {
    let hub: Hub

    func run() async throws {
        let hub = hub
        guard hub.isClustered else {
            // A hub alone has nobody to talk to; returning early would stop the service group.
            try? await gracefulShutdown()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await hub.cluster.run() }
            group.addTask {
                for await message in hub.cluster.messages {
                    switch message {
                    case .lines(let lines):
                        await hub.apply(lines.compactMap(ClusterEvent.init(line:)))
                    case .resync:
                        await hub.reconcileWithStore()
                    case .leadership(let leads):
                        hub.setLeader(leads)
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: ClusterTiming.reconcileInterval)
                    guard !Task.isCancelled, !hub.isShuttingDown else { continue }
                    await hub.reconcileWithStore()
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        hub.setLeader(false)
    }
}
