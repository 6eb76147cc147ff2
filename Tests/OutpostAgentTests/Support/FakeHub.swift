@testable import OutpostAgent
import OutpostClient
import OutpostCore

/// An in-memory hub with the agent protocol's semantics: long polls, offset
/// checked idempotent log appends, finish refused until the log is complete.
/// Tests script it (assignments, controls, injected failures) and read what
/// the agent did.
final class FakeHub: AgentHubAPI {
    struct State: Sendable {
        var assignments: [TaskAssignment] = []
        var controls: [ControlMessage] = []
        /// Errors the next `register` calls throw, in order.
        var registerFailures: [ClientError] = []
        /// Errors the next `poll` calls throw, in order.
        var pollFailures: [ClientError] = []
        var registrations = 0
        var registerRequests: [RegisterRequest] = []
        var polls: [PollRequest] = []
        var started: [String: String] = [:]  // task id → token used
        var startSubjects: [String: String] = [:]  // task id → user subject reported at start
        var startSigners: [String: String] = [:]  // task id → signing key id reported at start
        var logs: [String: [UInt8]] = [:]
        var finishes: [String: FinishRequest] = [:]
        var finishTokens: [String: String] = [:]
        var deregistrations: [String] = []
        var secretListings: [SecretListing] = []
        /// Whether each `useClientIdentity` set an identity (`true`) or cleared it.
        var identityChanges: [Bool] = []
        /// Every call in order: "register", "poll", "start:ID", "log:ID", "finish:ID", "deregister".
        var calls: [String] = []
        /// Protocol rules the agent broke (append before start, ...).
        var violations: [String] = []
        /// Act as a hub whose waiting poll takes over a finished task's slot: a finish
        /// answers `true` and gives every waiting poll one more slot.
        var takesSlotsOver = false
        /// Slots finishes handed to waiting polls so far.
        var slotGrants = 0
    }

    let state = WatchedState(State())
    /// How long an empty poll waits before answering.
    let pollWait: Duration

    init(pollWait: Duration = .milliseconds(200)) {
        self.pollWait = pollWait
    }

    static func token(_ n: Int) -> String { "agent-token-\(n)" }

    var currentURL: String { "http://127.0.0.1:9" }

    func register(_ request: RegisterRequest) async throws(ClientError) -> RegisterResponse {
        let result = state.update { state -> Result<RegisterResponse, ClientError> in
            state.calls.append("register")
            state.registerRequests.append(request)
            if !state.registerFailures.isEmpty { return .failure(state.registerFailures.removeFirst()) }
            state.registrations += 1
            return .success(
                RegisterResponse(
                    agentID: "agt_\(state.registrations)", name: request.name ?? "random-agent-0000",
                    agentToken: Self.token(state.registrations), pollTimeoutSeconds: 0.2, heartbeatTimeoutSeconds: 60))
        }
        return try result.get()
    }

    func poll(_ request: PollRequest, timeout: Duration, agentToken: String) async throws(ClientError) -> PollResponse {
        let (failure, grantsBefore) = state.update { state -> (ClientError?, Int) in
            state.calls.append("poll")
            state.polls.append(request)
            return (state.pollFailures.isEmpty ? nil : state.pollFailures.removeFirst(), state.slotGrants)
        }
        if let failure { throw failure }
        let requested = request.freeSlots
        let slots: @Sendable (State) -> Int = { requested + $0.slotGrants - grantsBefore }
        _ = await state.wait(
            until: { ($0.assignments.isEmpty || slots($0) == 0) && $0.controls.isEmpty ? false : true },
            deadline: SystemAgentClock().now() + pollWait, clock: SystemAgentClock())  // one shared origin
        if Task.isCancelled { throw ClientError(.unreachable, "poll cancelled") }
        return state.update { state in
            let freeSlots = slots(state)
            let assignments = freeSlots > 0 ? Array(state.assignments.prefix(freeSlots)) : []
            state.assignments.removeFirst(assignments.count)
            let controls = state.controls
            state.controls = []
            return PollResponse(assignments: assignments, controls: controls)
        }
    }

    func startTask(id: String, _ report: StartRequest, agentToken: String) async throws(ClientError) {
        state.update { state in
            state.calls.append("start:\(id)")
            state.started[id] = agentToken
            if let userSubject = report.userSubject { state.startSubjects[id] = userSubject }
            if let signedBy = report.signedBy { state.startSigners[id] = signedBy }
        }
    }

    func appendLog(taskID: String, offset: Int64, bytes: [UInt8], agentToken: String) async throws(ClientError) -> Int64 {
        let result = state.update { state -> Result<Int64, ClientError> in
            state.calls.append("log:\(taskID)")
            if state.started[taskID] == nil { state.violations.append("log before start for \(taskID)") }
            if state.finishes[taskID] != nil {
                return .failure(ClientError(.http(status: 409, code: .taskFinished), "task is finished"))
            }
            var log = state.logs[taskID] ?? []
            guard offset <= Int64(log.count) else {
                return .failure(
                    ClientError(.http(status: 409, code: .logGap), "gap", expectedOffset: Int64(log.count)))
            }
            let overlap = Int(Int64(log.count) - offset)
            if overlap < bytes.count { log += bytes[overlap...] }
            state.logs[taskID] = log
            return .success(Int64(log.count))
        }
        return try result.get()
    }

    func finishTask(id: String, _ request: FinishRequest, agentToken: String) async throws(ClientError) -> Bool {
        let result = state.update { state -> Result<Void, ClientError> in
            state.calls.append("finish:\(id)")
            guard request.logBytes <= Int64(state.logs[id]?.count ?? 0) else {
                return .failure(ClientError(.http(status: 409, code: .logIncomplete), "log incomplete"))
            }
            state.finishes[id] = request
            state.finishTokens[id] = agentToken
            if state.takesSlotsOver { state.slotGrants += 1 }
            return .success(())
        }
        try result.get()
        return state.value.takesSlotsOver
    }

    func deregister(agentToken: String) async throws(ClientError) {
        state.update { state in
            state.calls.append("deregister")
            state.deregistrations.append(agentToken)
        }
    }

    func reportSecretListing(requestID: String, _ listing: SecretListing, agentToken: String) async throws(ClientError) {
        state.update { state in
            state.calls.append("secret-listing \(requestID)")
            state.secretListings.append(listing)
        }
    }

    /// This fake issues no certificates: its agent types need none.
    func renewCertificate(_ request: CertificateRenewalRequest, agentToken: String) async throws(ClientError)
        -> ClientCertificateGrant
    {
        state.update { $0.calls.append("renew") }
        throw ClientError(.http(status: 404, code: .notFound), "no client certificates here")
    }

    func useClientIdentity(_ identity: ClientIdentity?) {
        state.update { $0.identityChanges.append(identity != nil) }
    }

    // MARK: Scripting

    func enqueue(_ assignment: TaskAssignment) {
        state.update { $0.assignments.append(assignment) }
    }

    func enqueue(_ control: ControlMessage) {
        state.update { $0.controls.append(control) }
    }

    /// Waits (up to `timeout`) until `predicate` holds; returns whether it did.
    func waitFor(
        timeout: Duration = .seconds(20), _ predicate: @escaping @Sendable (State) -> Bool
    ) async -> Bool {
        await state.wait(until: predicate, deadline: SystemAgentClock().now() + timeout, clock: SystemAgentClock())
    }
}
