import Foundation
import NIOCore
import NIOHTTP1
import OutpostCore

/// Decides whether a connection's first request becomes an agent channel: the path is
/// `AgentChannel.path`, the agent token (and, for types that require one, the client
/// certificate) checks out as on any agent call, and the agent offers a channel
/// version this hub speaks. Anything else is answered with the API's error, as the
/// router would (401, 403, or 426 `channel_unsupported` naming both versions), and
/// the connection is closed: NIO cannot hand a refused upgrade on to the router.
struct AgentChannelUpgrade: Sendable {
    /// An upgrade that checked out. Its description never shows the token.
    struct Accepted: Sendable, CustomStringConvertible {
        let agent: AgentIdentity
        /// The bearer token, so each call re-checks the session as an HTTP call would.
        let token: String
        let version: Int

        var description: String { "Accepted(agent: \(agent.name), version: \(version))" }
    }

    let hub: Hub
    /// Channel versions this hub speaks.
    let versions: Set<Int> = [AgentChannel.version]

    /// What to do with an upgrade request.
    enum Decision: Sendable {
        case accept(Accepted)
        /// Answer with this error and close (the upgrade cannot fall through to the router).
        case refuse(HubError)
    }

    /// Accepts the upgrade, or says why not (as the router would: 401, 403, 404, 426).
    func decide(_ head: HTTPRequestHead, channel: any Channel) async -> Decision {
        let path = Self.path(of: head.uri)
        guard path == AgentChannel.path else {
            return .refuse(HubError.notFound("WebSocket upgrades are only served at \(AgentChannel.path), not \(path)"))
        }
        guard head.method == .GET else {
            return .refuse(HubError(.methodNotAllowed, "\(head.method.rawValue) is not allowed on \(path); use GET"))
        }
        let offered = head.headers[canonicalForm: "sec-websocket-protocol"].joined(separator: ",")
        let token: String
        let agent: AgentIdentity
        do {
            guard let bearer = Self.bearerToken(head.headers["authorization"].first) else {
                throw HubError(.unauthorized, "missing Authorization header; send \"Bearer\" and an agent token")
            }
            token = bearer
            agent = try await Self.authenticate(token: token, channel: channel, hub: hub)
        } catch {
            return .refuse(ErrorMiddleware.translate(error))
        }
        guard let version = AgentChannel.offeredVersions(offered).filter(versions.contains).max() else {
            return .refuse(Self.refusal(offered: offered, upgrade: "websocket", versions: versions))
        }
        return .accept(Accepted(agent: agent, token: token, version: version))
    }

    /// The agent's identity for `token` on `channel`, as the router's `.agent` check finds it.
    static func authenticate(token: String, channel: any Channel, hub: Hub) async throws -> AgentIdentity {
        let identity = try await hub.authenticator.agent(token: token)
        if let certificates = hub.agentCertificates, certificates.requires(type: identity.type) {
            try await certificates.verify(channel: channel, agentID: identity.id, now: hub.now())
        }
        return identity
    }

    /// Why a request for the channel reached the router instead of being upgraded.
    static func refusal(offered: String?, upgrade: String?, versions: Set<Int> = [AgentChannel.version]) -> HubError {
        let speaks = versions.sorted().map { AgentChannel.subprotocol(version: $0) }.joined(separator: ", ")
        guard let upgrade, upgrade.lowercased().contains("websocket") else {
            return HubError(
                .channelUnsupported,
                "\(AgentChannel.path) needs a WebSocket upgrade (Upgrade: websocket, Sec-WebSocket-Protocol: \(speaks)); without one, use the long poll")
        }
        guard let offered, !offered.isEmpty else {
            return HubError(
                .channelUnsupported,
                "the agent offered no channel version (Sec-WebSocket-Protocol); this hub speaks \(speaks)")
        }
        let offeredVersions = AgentChannel.offeredVersions(offered)
        if offeredVersions.contains(where: versions.contains) {
            // Only reached when the upgrade itself failed (a malformed WebSocket handshake).
            return HubError(.invalidRequest, "the WebSocket handshake is malformed (Sec-WebSocket-Key, Sec-WebSocket-Version 13)")
        }
        let named = offeredVersions.isEmpty ? offered : offeredVersions.map { "version \($0)" }.joined(separator: ", ")
        return HubError(
            .channelUnsupported,
            "the agent speaks agent channel \(named); this hub speaks \(speaks): run agent and hub of the same release (the agent uses the long poll meanwhile)")
    }

    private static func path(of uri: String) -> Substring {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    private static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return String(parts[1]).trimmingSpaces()
    }
}
