import NIOCore
package import OutpostClient
import Synchronization
package import OutpostCore
package import OutpostTransport

/// `AgentHubAPI` over the real HTTP client.
///
/// This is the only file of the agent that touches NIO, to turn a `Duration`
/// into the `TimeAmount` that `HubClient.poll` takes.
package struct HubClientAgentHub: AgentHubAPI {
    /// A client carrying the registration token (used only for `register`).
    private let registrationClient: HubClient
    /// The client certificate of the session, shared by every copy; replaced on renewal.
    private let identity = IdentitySlot()

    /// - Parameters:
    ///   - trust: how the hub's certificate is verified (`hub_ca`, `hub_cert_sha256`).
    ///   - insecureHTTP: allow plain `http://` beyond loopback (`insecure_http`).
    package init(hubURL: String, registrationToken: String, trust: HubTrust = .system, insecureHTTP: Bool = false) {
        registrationClient = HubClient(baseURL: hubURL, token: registrationToken, trust: trust, insecureHTTP: insecureHTTP)
    }

    package init(registrationClient: HubClient) {
        self.registrationClient = registrationClient
    }

    package var currentURL: String { registrationClient.baseURL }

    /// A client for one call: the session's token and its current client certificate.
    package func client(_ agentToken: String) -> HubClient {
        registrationClient.withToken(agentToken).withClientIdentity(identity.current)
    }

    package func useClientIdentity(_ identity: ClientIdentity?) {
        self.identity.set(identity)
    }

    package func renewCertificate(_ request: CertificateRenewalRequest, agentToken: String) async throws(ClientError)
        -> ClientCertificateGrant
    {
        try await client(agentToken).renewCertificate(request)
    }

    package func register(_ request: RegisterRequest) async throws(ClientError) -> RegisterResponse {
        try await registrationClient.register(request)
    }

    package func poll(_ request: PollRequest, timeout: Duration, agentToken: String) async throws(ClientError) -> PollResponse {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return try await client(agentToken).poll(request, timeout: .milliseconds(max(milliseconds, 1)))
    }

    package func startTask(id: String, _ report: StartRequest, agentToken: String) async throws(ClientError) {
        _ = try await client(agentToken).startTask(id: id, report)
    }

    package func appendLog(taskID: String, offset: Int64, bytes: [UInt8], agentToken: String) async throws(ClientError) -> Int64 {
        try await client(agentToken).appendLog(taskID: taskID, offset: offset, bytes: bytes).nextOffset
    }

    package func finishTask(id: String, _ request: FinishRequest, agentToken: String) async throws(ClientError) -> Bool {
        try await client(agentToken).finishTask(id: id, request).pollTookSlot
    }

    package func deregister(agentToken: String) async throws(ClientError) {
        try await client(agentToken).deregister()
    }

    package func reportSecretListing(requestID: String, _ listing: SecretListing, agentToken: String)
        async throws(ClientError)
    {
        try await client(agentToken).reportSecretListing(requestID: requestID, listing)
    }
}

/// The session's client identity behind a lock (a class, so copies of the hub share it).
private final class IdentitySlot: Sendable {
    private let value = Mutex<ClientIdentity?>(nil)
    var current: ClientIdentity? { value.withLock { $0 } }
    func set(_ identity: ClientIdentity?) { value.withLock { $0 = identity } }
}
