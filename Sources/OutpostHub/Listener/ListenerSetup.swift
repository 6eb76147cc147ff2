/// The listener's limits as they take effect, from the configuration and the process.
enum ListenerSetup {
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
