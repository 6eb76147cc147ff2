package import OutpostClient
package import OutpostCore

/// The hub calls the agent makes. `HubClientAgentHub` is the real one over
/// HTTP; tests use in-memory fakes so the session and runner logic are tested
/// without a network.
///
/// Every call after `register` carries the session's agent token explicitly,
/// because a re-registration replaces it while tasks keep running.
package protocol AgentHubAPI: Sendable {
    /// The hub URL calls go to now (with several replicas, the one in use), for
    /// log lines and messages.
    var currentURL: String { get }
    /// Registers with the registration token the API was created with.
    func register(_ request: RegisterRequest) async throws(ClientError) -> RegisterResponse
    /// Long poll; `timeout` bounds the whole call and must exceed the hub's poll wait.
    func poll(_ request: PollRequest, timeout: Duration, agentToken: String) async throws(ClientError) -> PollResponse
    /// `report`: what the agent verified about the submitter (user token, signature).
    func startTask(id: String, _ report: StartRequest, agentToken: String) async throws(ClientError)
    /// Appends log bytes at `offset`; returns the hub's next expected offset.
    func appendLog(taskID: String, offset: Int64, bytes: [UInt8], agentToken: String) async throws(ClientError) -> Int64
    /// Reports a task's end. Returns whether the hub's waiting poll of this agent took
    /// over the task's slot (`AgentProtocol.pollTookSlotHeader`): then the agent keeps
    /// that poll open, as the hub hands it work for the slot.
    func finishTask(id: String, _ request: FinishRequest, agentToken: String) async throws(ClientError) -> Bool
    func deregister(agentToken: String) async throws(ClientError)
    /// Renews the agent's client certificate (mTLS agent types); goes out presenting the current one.
    func renewCertificate(_ request: CertificateRenewalRequest, agentToken: String) async throws(ClientError)
        -> ClientCertificateGrant
    /// The certificate and key every later call presents (`nil`: none). Calls already
    /// on their way keep theirs, so a renewal interrupts no poll and no log upload.
    /// `register` never presents one: a registration is how an agent gets a certificate.
    func useClientIdentity(_ identity: ClientIdentity?)
    /// Answers a `list_secrets` control message (names only).
    func reportSecretListing(requestID: String, _ listing: SecretListing, agentToken: String) async throws(ClientError)
}
