package import Logging
import NIOCore
package import OutpostClient
package import OutpostCore
package import OutpostTransport

/// `AgentHubAPI` over the agent channel (one WebSocket to the hub, `HubChannel`),
/// with the long poll of `HubClientAgentHub` where the channel is refused.
///
/// Register and certificate renewal always go over HTTP (they come before a session,
/// or change the TLS identity the channel was opened with). Every other call goes
/// over the channel in use, opened on first need with the session's token and
/// certificate; a channel that is lost fails the calls in flight with `.unreachable`,
/// which the session and runners retry as they retry any unreachable hub, and the
/// next call opens a new one. A new token or certificate opens a new channel and
/// retires the old one once its calls are answered.
package final class ChannelAgentHub: AgentHubAPI {
    private let http: HubClientAgentHub
    private let channels: ChannelKeeper
    /// Bound of calls that are not polls, as the HTTP client's.
    private let requestTimeout: Duration

    /// - Parameter version: the channel version offered (tests offer others).
    package init(http: HubClientAgentHub, version: Int = AgentChannel.version, requestTimeout: Duration = .seconds(30), logger: Logger) {
        self.http = http
        self.requestTimeout = requestTimeout
        channels = ChannelKeeper(version: version, logger: logger)
    }

    package var currentURL: String { http.currentURL }

    package func register(_ request: RegisterRequest) async throws(ClientError) -> RegisterResponse {
        try await http.register(request)
    }

    package func renewCertificate(_ request: CertificateRenewalRequest, agentToken: String) async throws(ClientError)
        -> ClientCertificateGrant
    {
        try await http.renewCertificate(request, agentToken: agentToken)
    }

    package func useClientIdentity(_ identity: ClientIdentity?) {
        http.useClientIdentity(identity)
        channels.retire()
    }

    package func poll(_ request: PollRequest, timeout: Duration, agentToken: String) async throws(ClientError) -> PollResponse {
        guard let channel = try await channel(agentToken) else {
            return try await http.poll(request, timeout: timeout, agentToken: agentToken)
        }
        var call = ChannelCall(id: 0, op: .poll)
        call.poll = request
        return try await send(call, on: channel, timeout: timeout, cancellable: true).poll ?? PollResponse()
    }

    package func startTask(id: String, _ report: StartRequest, agentToken: String) async throws(ClientError) {
        guard let channel = try await channel(agentToken) else {
            return try await http.startTask(id: id, report, agentToken: agentToken)
        }
        var call = ChannelCall(id: 0, op: .start)
        call.taskID = id
        if !report.isEmpty { call.start = report }
        _ = try await send(call, on: channel)
    }

    package func appendLog(taskID: String, offset: Int64, bytes: [UInt8], agentToken: String) async throws(ClientError) -> Int64 {
        guard let channel = try await channel(agentToken) else {
            return try await http.appendLog(taskID: taskID, offset: offset, bytes: bytes, agentToken: agentToken)
        }
        var call = ChannelCall(id: 0, op: .log)
        call.taskID = taskID
        call.offset = offset
        let reply = try await send(call, chunk: bytes, on: channel)
        guard let next = reply.nextOffset else {
            throw ClientError(.invalidResponse, "the hub's reply to a log chunk of task \(taskID) has no next_offset")
        }
        return next
    }

    package func finishTask(id: String, _ request: FinishRequest, agentToken: String) async throws(ClientError) -> Bool {
        guard let channel = try await channel(agentToken) else {
            return try await http.finishTask(id: id, request, agentToken: agentToken)
        }
        var call = ChannelCall(id: 0, op: .finish)
        call.taskID = id
        call.finish = request
        return try await send(call, on: channel).pollTookSlot == true
    }

    package func deregister(agentToken: String) async throws(ClientError) {
        guard let channel = try await channel(agentToken) else {
            return try await http.deregister(agentToken: agentToken)
        }
        _ = try await send(ChannelCall(id: 0, op: .deregister), on: channel)
        channels.retire()
    }

    package func reportSecretListing(requestID: String, _ listing: SecretListing, agentToken: String) async throws(ClientError) {
        guard let channel = try await channel(agentToken) else {
            return try await http.reportSecretListing(requestID: requestID, listing, agentToken: agentToken)
        }
        var call = ChannelCall(id: 0, op: .secretListing)
        call.requestID = requestID
        call.listing = listing
        _ = try await send(call, on: channel)
    }

    // MARK: Plumbing

    /// The open channel for `token`, or `nil` to use the long poll.
    private func channel(_ token: String) async throws(ClientError) -> HubChannel? {
        let http = self.http
        return try await channels.channel(token: token) { http.client(token) }
    }

    private func send(
        _ call: ChannelCall, chunk: [UInt8]? = nil, on channel: HubChannel, timeout: Duration? = nil, cancellable: Bool = false
    ) async throws(ClientError) -> ChannelReply {
        let reply = try await channel.send(
            call, chunk: chunk, timeout: .nanoseconds(Self.nanoseconds(timeout ?? requestTimeout)),
            cancelOnTaskCancellation: cancellable)
        if let fault = reply.error { throw HubChannel.error(of: fault) }
        return reply
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
