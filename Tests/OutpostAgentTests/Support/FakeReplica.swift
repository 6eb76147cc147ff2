@testable import OutpostAgent
import OutpostClient
import OutpostCore

/// One replica of a hub in front of a shared `FakeHub`, which plays the database
/// every replica serves: while up it forwards each call; once dead it fails calls
/// the way a replica that is gone does. Tests kill it at chosen moments (before or
/// after a log append is stored, during a long poll) and read which calls reached it.
final class FakeReplica: AgentHubAPI {
    /// How the next log append kills this replica.
    enum AppendDeath: Sendable {
        /// It dies before storing anything.
        case beforeStoring
        /// It stores the bytes, then dies before answering: the answer is lost.
        case afterStoring
    }

    struct State: Sendable {
        /// `nil` while up; the error every call gets once the replica is dead.
        var death: ClientError?
        /// The next call (whatever it is) gets this answer instead of reaching the database.
        var nextAnswer: ClientError?
        /// Log appends to count before `appendDeath` strikes (the number of the fatal one).
        var dieOnAppend: (number: Int, how: AppendDeath)?
        var appends = 0
        /// Polls wait until the replica dies (or the call is cancelled), as a long poll on a quiet hub does.
        var pollsHang = false
        /// Every call that reached this replica, in order: "register", "poll", "start:ID", "log:ID@OFFSET", ...
        var calls: [String] = []
        /// Whether each `useClientIdentity` set an identity (`true`) or cleared it.
        var identities: [Bool] = []
    }

    let currentURL: String
    let database: FakeHub
    let state = WatchedState(State())

    init(url: String, database: FakeHub) {
        currentURL = url
        self.database = database
    }

    var replica: FailoverAgentHub.Replica { FailoverAgentHub.Replica(url: currentURL, hub: self) }

    /// What the client reports for a refused connection.
    func refused() -> ClientError { ClientError(.unreachable, "cannot reach the hub at \(currentURL): connection refused") }

    /// What the client reports for a connection the dying replica reset.
    func reset() -> ClientError { ClientError(.unreachable, "cannot reach the hub at \(currentURL): connection closed") }

    func kill(with error: ClientError? = nil) {
        let error = error ?? refused()
        state.update { $0.death = error }
    }

    func revive() {
        state.update { $0.death = nil }
    }

    /// Waits (up to `timeout`) until `predicate` holds; returns whether it did.
    func waitFor(timeout: Duration = .seconds(10), _ predicate: @escaping @Sendable (State) -> Bool) async -> Bool {
        await state.wait(until: predicate, deadline: SystemAgentClock().now() + timeout, clock: SystemAgentClock())
    }

    /// Records the call; throws if the replica is dead or a scripted answer is due.
    private func enter(_ call: String) throws(ClientError) {
        let failure = state.update { state -> ClientError? in
            state.calls.append(call)
            if let death = state.death { return death }
            defer { state.nextAnswer = nil }
            return state.nextAnswer
        }
        if let failure { throw failure }
    }

    func register(_ request: RegisterRequest) async throws(ClientError) -> RegisterResponse {
        try enter("register")
        return try await database.register(request)
    }

    func poll(_ request: PollRequest, timeout: Duration, agentToken: String) async throws(ClientError) -> PollResponse {
        try enter("poll")
        if state.value.pollsHang {
            let died = await state.wait(until: { $0.death != nil })
            // A cancelled request fails like this in the real client.
            guard died, let death = state.value.death else { throw ClientError(.unreachable, "cancelled") }
            throw death
        }
        return try await database.poll(request, timeout: timeout, agentToken: agentToken)
    }

    func startTask(id: String, _ report: StartRequest, agentToken: String) async throws(ClientError) {
        try enter("start:\(id)")
        try await database.startTask(id: id, report, agentToken: agentToken)
    }

    func appendLog(taskID: String, offset: Int64, bytes: [UInt8], agentToken: String) async throws(ClientError) -> Int64 {
        try enter("log:\(taskID)@\(offset)")
        let death = state.update { state -> AppendDeath? in
            state.appends += 1
            guard let plan = state.dieOnAppend, plan.number == state.appends else { return nil }
            state.death = ClientError(.unreachable, "cannot reach the hub at \(currentURL): connection closed")
            return plan.how
        }
        switch death {
        case .beforeStoring:
            throw reset()
        case .afterStoring:
            _ = try await database.appendLog(taskID: taskID, offset: offset, bytes: bytes, agentToken: agentToken)
            throw reset()
        case nil:
            return try await database.appendLog(taskID: taskID, offset: offset, bytes: bytes, agentToken: agentToken)
        }
    }

    func finishTask(id: String, _ request: FinishRequest, agentToken: String) async throws(ClientError) -> Bool {
        try enter("finish:\(id)")
        return try await database.finishTask(id: id, request, agentToken: agentToken)
    }

    func deregister(agentToken: String) async throws(ClientError) {
        try enter("deregister")
        try await database.deregister(agentToken: agentToken)
    }

    func renewCertificate(_ request: CertificateRenewalRequest, agentToken: String) async throws(ClientError)
        -> ClientCertificateGrant
    {
        try enter("renew")
        return try await database.renewCertificate(request, agentToken: agentToken)
    }

    func useClientIdentity(_ identity: ClientIdentity?) {
        state.update { $0.identities.append(identity != nil) }
    }

    func reportSecretListing(requestID: String, _ listing: SecretListing, agentToken: String) async throws(ClientError) {
        try enter("secret-listing")
        try await database.reportSecretListing(requestID: requestID, listing, agentToken: agentToken)
    }
}
