import Hummingbird
import HummingbirdCore
import NIOCore
import Logging
import OutpostStore
import ServiceLifecycle

/// The HTTP API as a `Service`.
///
/// On graceful shutdown it first answers waiting polls and watchers (so the server
/// drains in moments, not after a 25 s long poll), then lets Hummingbird stop
/// taking connections and finish the requests in flight.
struct HubHTTPService: Service {
    let hub: Hub
    let responder: RouterResponder<HubRequestContext>
    let address: ListeningAddress

    func run() async throws {
        let configuration = hub.configuration
        let hub = hub
        let address = address
        let caps = ListenerSetup.caps(configuration: configuration, descriptorLimit: DescriptorLimit.current())
        if caps.total < configuration.maxConnections {
            hub.logger.warning(
                "max_connections lowered to what the open-file limit leaves room for; raise the hard limit (LimitNOFILE=) to allow more",
                metadata: ["configured": "\(configuration.maxConnections)", "in_force": "\(caps.total)"])
        }
        let limiter = ConnectionLimiter(caps: caps, now: hub.clock.now, logger: hub.logger, metrics: hub.metrics)
        let timeouts = ConnectionTimeouts.Limits(
            headerRead: TimeAmount(configuration.headerReadTimeout), idle: TimeAmount(configuration.idleTimeout))
        let logger = hub.logger
        let server = HTTPServerBuilder { responder in
            HubHTTPChannel(
                http1: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: nil)),
                timeouts: timeouts, limiter: limiter, logger: logger)
        }
        let app = Application(
            responder: responder,
            server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                // Room for a burst of agents reconnecting at once (the kernel caps it at somaxconn).
                backlog: 4096),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                hub.markListening()
                hub.logger.info(
                    "hub listening",
                    metadata: [
                        "host": "\(configuration.host)", "port": "\(port)", "max_connections": "\(caps.total)",
                        "max_connections_per_peer": "\(caps.perPeer)",
                    ])
                address.resolve(HubAddress(host: configuration.host, port: port))
            },
            logger: hub.logger
        )
        defer { address.resolve(nil) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Throws CancellationError when the group is cancelled instead.
                try await gracefulShutdown()
                await hub.beginShutdown()
            }
            try await app.run()
            group.cancelAll()
        }
    }
}

/// Owns the store's lifetime: after everything else stopped (services shut down in
/// reverse order, and this one comes first), writes the last heartbeats and closes
/// the store.
struct HubStoreService: Service {
    let hub: Hub

    func run() async throws {
        try? await gracefulShutdown()
        await hub.flushHeartbeats()
        await hub.shutdownClients()
        await hub.store.shutdown()
    }
}
