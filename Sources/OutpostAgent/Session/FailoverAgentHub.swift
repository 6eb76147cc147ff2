package import Logging
package import OutpostClient
package import OutpostCore
package import OutpostTransport
import Synchronization

/// `AgentHubAPI` over several URLs of one hub: replicas sharing one database, so the
/// agent token, task ids and log offsets hold on each of them.
///
/// Every call goes to the replica in use. When that replica is gone (refused or
/// reset connection, no answer in time, a gateway's 502/503/504), the same call goes
/// at once to the next one, once per other replica, before the failure is reported;
/// the session's backoff then applies only when every replica is down. Sending a call
/// again whose answer was lost is what a retry does with one URL too: log appends at
/// an offset, start and finish are idempotent, and a lost registration meets
/// `name_in_use` until the hub times it out. `HubFailoverStateMachine` decides; this
/// type only sends and logs.
///
/// A cancelled call is never sent on: cancellation says nothing about the replica.
package final class FailoverAgentHub: AgentHubAPI {
    /// One URL of the hub and the calls to it.
    package struct Replica: Sendable {
        package var url: String
        package var hub: any AgentHubAPI

        package init(url: String, hub: any AgentHubAPI) {
            self.url = url
            self.hub = hub
        }
    }

    private let replicas: [Replica]
    private let machine: Mutex<HubFailoverStateMachine>
    private let logger: Logger

    /// One hub per URL, all with the same trust and registration token: over the agent
    /// channel (`ChannelAgentHub`), or with `channel` false by long poll only.
    package convenience init(
        hubURLs: [String], registrationToken: String, trust: HubTrust = .system, insecureHTTP: Bool = false,
        channel: Bool = true, logger: Logger
    ) {
        self.init(
            replicas: hubURLs.map { url in
                let http = HubClientAgentHub(
                    hubURL: url, registrationToken: registrationToken, trust: trust, insecureHTTP: insecureHTTP)
                return Replica(url: url, hub: channel ? ChannelAgentHub(http: http, logger: logger) : http)
            },
            logger: logger)
    }

    /// - Parameter replicas: at least one, in the order they are tried (the first is used first).
    package init(replicas: [Replica], logger: Logger) {
        precondition(!replicas.isEmpty, "a hub needs at least one URL")
        self.replicas = replicas
        machine = Mutex(HubFailoverStateMachine(replicaCount: replicas.count))
        self.logger = logger
    }

    package var currentURL: String {
        replicas[machine.withLock { $0.current }].url
    }

    /// Sends `call` to the replica in use, and on to the others while they are gone.
    private func send<Result: Sendable>(
        _ call: (any AgentHubAPI) async throws(ClientError) -> Result
    ) async throws(ClientError) -> Result {
        var attempt = machine.withLock { $0.begin() }
        while true {
            do throws(ClientError) {
                let result = try await call(replicas[attempt.replica].hub)
                let sent = attempt
                if let move = machine.withLock({ $0.answered(sent) }) { announce(move) }
                return result
            } catch {
                if Task.isCancelled { throw error }
                let failed = attempt
                switch machine.withLock({ $0.failed(failed, with: error) }) {
                case .retry(let next):
                    attempt = next
                case .report(let reported, let move):
                    if let move { announce(move) }
                    throw reported
                }
            }
        }
    }

    private func announce(_ move: HubFailoverStateMachine.Move) {
        let (from, to) = (replicas[move.from].url, replicas[move.to].url)
        logger.notice(
            "switched from the hub at \(from) to its replica at \(to): \(move.cause.message)",
            metadata: ["hub": "\(to)", "previous_hub": "\(from)"])
    }

    // MARK: AgentHubAPI

    package func register(_ request: RegisterRequest) async throws(ClientError) -> RegisterResponse {
        try await send { hub throws(ClientError) in try await hub.register(request) }
    }

    package func poll(_ request: PollRequest, timeout: Duration, agentToken: String) async throws(ClientError)
        -> PollResponse
    {
        try await send { hub throws(ClientError) in try await hub.poll(request, timeout: timeout, agentToken: agentToken) }
    }

    package func startTask(id: String, _ report: StartRequest, agentToken: String) async throws(ClientError) {
        try await send { hub throws(ClientError) in
            try await hub.startTask(id: id, report, agentToken: agentToken)
        }
    }

    package func appendLog(taskID: String, offset: Int64, bytes: [UInt8], agentToken: String) async throws(ClientError)
        -> Int64
    {
        try await send { hub throws(ClientError) in
            try await hub.appendLog(taskID: taskID, offset: offset, bytes: bytes, agentToken: agentToken)
        }
    }

    package func finishTask(id: String, _ request: FinishRequest, agentToken: String) async throws(ClientError) -> Bool {
        try await send { hub throws(ClientError) in try await hub.finishTask(id: id, request, agentToken: agentToken) }
    }

    package func deregister(agentToken: String) async throws(ClientError) {
        try await send { hub throws(ClientError) in try await hub.deregister(agentToken: agentToken) }
    }

    package func renewCertificate(_ request: CertificateRenewalRequest, agentToken: String) async throws(ClientError)
        -> ClientCertificateGrant
    {
        try await send { hub throws(ClientError) in try await hub.renewCertificate(request, agentToken: agentToken) }
    }

    /// Every replica presents the same certificate: the agent may be moved to any of them.
    package func useClientIdentity(_ identity: ClientIdentity?) {
        for replica in replicas { replica.hub.useClientIdentity(identity) }
    }

    package func reportSecretListing(requestID: String, _ listing: SecretListing, agentToken: String)
        async throws(ClientError)
    {
        try await send { hub throws(ClientError) in
            try await hub.reportSecretListing(requestID: requestID, listing, agentToken: agentToken)
        }
    }
}
