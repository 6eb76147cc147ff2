import Hummingbird
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
    let tls: ServerTLS?
    /// Where it listens (the main address, or `--agent-listen`'s).
    let bind: HubAddress
    /// `api` for the main listener, `agents` for `--agent-listen`'s, in its log lines.
    let role: String

    func run() async throws {
        let hub = hub
        let address = address
        let tls = tls
        let bind = bind
        let role = role
        let listener = ListenerSetup(hub: hub, tls: tls, address: bind)
        let caps = listener.caps
        let app = Application(
            responder: responder,
            server: listener.server,
            configuration: listener.serverConfiguration,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? bind.port
                if role == "api" { hub.markListening() }
                var metadata: Logger.Metadata = [
                    "listener": "\(role)",
                    "host": "\(bind.host)", "port": "\(port)", "max_connections": "\(caps.total)",
                    "max_connections_per_peer": "\(caps.perPeer)", "scheme": tls == nil ? "http" : "https",
                ]
                if let tls {
                    metadata["certificate"] = "\(tls.current.subject)"
                    metadata["not_after"] = "\(tls.current.notValidAfter)"
                }
                hub.logger.info("hub listening", metadata: metadata)
                address.resolve(HubAddress(host: bind.host, port: port, scheme: tls == nil ? "http" : "https"))
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
