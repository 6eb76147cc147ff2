import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The listener as it takes effect: connection caps from the configuration and the
/// open-file limit, and the HTTP/1 channel with the hub's limits around Hummingbird's.
struct ListenerSetup {
    let caps: ConnectionLimiter.Caps
    let server: HTTPServerBuilder
    let serverConfiguration: ApplicationConfiguration

    /// Reads the open-file limit now (raised at start) and logs when it lowers `max_connections`.
    init(hub: Hub, tls: ServerTLS?, address: HubAddress) {
        let configuration = hub.configuration
        let caps = Self.caps(configuration: configuration, descriptorLimit: DescriptorLimit.current())
        if caps.total < configuration.maxConnections {
            hub.logger.warning(
                "max_connections lowered to what the open-file limit leaves room for; raise the hard limit (LimitNOFILE=) to allow more",
                metadata: ["configured": "\(configuration.maxConnections)", "in_force": "\(caps.total)"])
        }
        let limiter = ConnectionLimiter(caps: caps, now: hub.clock.now, logger: hub.logger, metrics: hub.metrics)
        let timeouts = ConnectionTimeouts.Limits(
            headerRead: TimeAmount(configuration.headerReadTimeout), idle: TimeAmount(configuration.idleTimeout))
        let logger = hub.logger
        let metrics = hub.metrics
        self.caps = caps
        server = HTTPServerBuilder { responder in
            // Hummingbird's own idle timeout stays off: `ConnectionGuardHandler` enforces
            // the header-read and idle timeouts, which Hummingbird cannot tell apart.
            HubHTTPChannel(
                http1: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: nil)),
                agentChannels: AgentChannelUpgrade(hub: hub), tls: tls,
                timeouts: timeouts, limiter: limiter, metrics: metrics, logger: logger)
        }
        serverConfiguration = ApplicationConfiguration(
            address: .hostname(address.host, port: address.port), serverName: nil,
            // Room for a burst of agents reconnecting at once (the kernel caps it at somaxconn):
            // with Hummingbird's 256 the end-to-end flood of 10,000 took 40 s to open, with 4096 about 2 s.
            backlog: 4096)
    }

    /// The connection caps in force: `max_connections` lowered to what the open-file
    /// limit leaves room for (past it, `accept` fails and the hub stops answering
    /// anyone, `/healthz` included), and the per-peer cap never above the total.
    static func caps(configuration: HubConfiguration, descriptorLimit: Int?) -> ConnectionLimiter.Caps {
        var total = configuration.maxConnections
        if let descriptorLimit { total = min(total, DescriptorLimit.connectionRoom(descriptorLimit: descriptorLimit)) }
        let perPeer = configuration.maxConnectionsPerPeer == 0 ? 0 : min(configuration.maxConnectionsPerPeer, total)
        return ConnectionLimiter.Caps(total: total, perPeer: perPeer)
    }
}
