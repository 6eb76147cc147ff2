import Logging
import ServiceLifecycle
import UnixSignals

/// Runs a process's services as one `ServiceGroup` with Outpost's signal rules:
/// the first SIGTERM or SIGINT asks every service to shut down gracefully (the
/// agent stops taking work and finishes what runs); a second one cancels the
/// group (the agent tears its running tasks down) so the process exits promptly.
enum ServiceRunner {
    private enum Ended { case services, forced, sideDone }

    /// Runs `services` until they stop. `alongside` runs next to them with the
    /// group at hand (to add a service once another is ready); if it throws, the
    /// group shuts down and the error is rethrown.
    static func run(
        _ services: [any Service], logger: Logger,
        alongside: @escaping @Sendable (ServiceGroup) async throws -> Void = { _ in }
    ) async throws {
        MallocTuning.applyForLongRunningProcess()
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                // A service that ends on its own (an agent told by the hub to disconnect)
                // ends the process cleanly, with exit code 0.
                services: services.map {
                    ServiceGroupConfiguration.ServiceConfiguration(
                        service: $0, successTerminationBehavior: .gracefullyShutdownGroup)
                },
                logger: logger))
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)

        var forced = false
        do {
            try await withThrowingTaskGroup(of: Ended.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return .services
                }
                tasks.addTask {
                    do {
                        try await alongside(group)
                    } catch {
                        await group.triggerGracefulShutdown()
                        throw error
                    }
                    return .sideDone
                }
                tasks.addTask {
                    var received = 0
                    for await signal in signals {
                        received += 1
                        if received == 1 {
                            logger.notice("received \(signal): shutting down gracefully; send it again to stop at once")
                            await group.triggerGracefulShutdown()
                        } else {
                            logger.notice("received \(signal) again: stopping running work now")
                            return .forced
                        }
                    }
                    return .sideDone
                }
                while let ended = try await tasks.next() {
                    switch ended {
                    case .sideDone:
                        continue
                    case .services:
                        tasks.cancelAll()
                        return
                    case .forced:
                        forced = true
                        tasks.cancelAll()
                    }
                }
            }
        } catch is CancellationError where forced {
            // The second signal cancelled the services: that is the requested outcome.
        }
    }
}
