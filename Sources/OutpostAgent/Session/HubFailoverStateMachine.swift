import OutpostClient

/// Which hub replica the agent's calls go to, and what a failed call does next, as
/// a pure value; `FailoverAgentHub` performs what it decides. Tested without I/O.
///
/// Calls stick to the replica in use: healthy calls are never spread over the
/// replicas, so a move is a rare event worth a log line. A call that fails because
/// its replica is gone goes again at once to the next replica, once per replica it
/// has not tried, and only then is its failure reported, so the session's backoff
/// starts only when every replica is down. A refusal (401, 409, any other answer
/// but a gateway's) is the hub's verdict, the same on every replica of one
/// database, and is reported as it is.
struct HubFailoverStateMachine: Sendable, Equatable {
    /// One call's way through the replicas.
    struct Call: Sendable, Equatable {
        /// The replica the next attempt goes to (an index into the URL list).
        fileprivate(set) var replica: Int
        /// The replicas that failed this call, in order.
        fileprivate(set) var tried: [Int] = []
        /// Their failures, in the same order.
        fileprivate(set) var failures: [ClientError] = []
    }

    enum Action: Sendable, Equatable {
        /// Send the same call again, now, to `call.replica`.
        case retry(Call)
        /// The call failed: the caller gets this error. `move` is set when the failure
        /// is the answer of a replica the agent just moved to (announce it).
        case report(ClientError, move: Move?)
    }

    /// The agent reached another replica than the one it last talked to.
    struct Move: Sendable, Equatable {
        let from: Int
        let to: Int
        /// The failure that made the agent leave `from`.
        let cause: ClientError
    }

    let replicaCount: Int
    /// Where new calls go.
    private(set) var current = 0
    /// The replica of the last call that succeeded where new calls go; the agent starts
    /// out on the first URL, so reaching another one at start-up is a move too.
    private(set) var attached = 0
    /// Why the agent left `attached` (the failure there), for the line that announces the move.
    private(set) var moveCause: ClientError?

    init(replicaCount: Int) {
        precondition(replicaCount >= 1, "a hub needs at least one URL")
        self.replicaCount = replicaCount
    }

    /// Whether `error` means the replica is gone (so another one may answer), as
    /// opposed to an answer of the hub: refused or reset connections, no answer in
    /// time, a TLS handshake cut by the server going away (the client reports these
    /// as `.unreachable`), and a gateway's 502, 503 or 504.
    ///
    /// A certificate the client refused (`.tls`) is not failed over: it needs a
    /// person, and moving on would hide the cause its message names. Nor is a
    /// garbled answer (`.invalidResponse`): the replica did answer.
    static func failsOver(_ error: ClientError) -> Bool {
        switch error.code {
        case .unreachable: true
        case .http(let status, _): status == 502 || status == 503 || status == 504
        case .invalidResponse, .invalidRequest, .tls: false
        }
    }

    /// A new call: it goes to the replica in use.
    func begin() -> Call {
        Call(replica: current)
    }

    /// `call` failed on its replica with `error`: send it on, or report.
    mutating func failed(_ call: Call, with error: ClientError) -> Action {
        // A refusal is an answer: the replica is there.
        guard Self.failsOver(error) else { return .report(error, move: answered(call)) }
        var call = call
        call.tried.append(call.replica)
        call.failures.append(error)
        if current != call.replica, !call.tried.contains(current) {
            // Another call moved the agent meanwhile: follow it.
            call.replica = current
            return .retry(call)
        }
        // The next replica after this one that the call has not tried, wrapping around.
        let count = replicaCount
        let tried = call.tried
        let untried = (1..<count).map { (call.replica + $0) % count }.first { !tried.contains($0) }
        guard let next = untried else { return .report(Self.allFailed(call.failures), move: nil) }
        current = next
        // The cause worth telling is the failure of the replica the agent was attached to,
        // not of the ones it passed over on the way.
        if call.replica == attached || moveCause == nil { moveCause = error }
        call.replica = next
        return .retry(call)
    }

    /// `call`'s replica answered (a result, or a refusal that `failed` reports): returns
    /// the move to announce when it is the first answer from a replica the agent moved to.
    mutating func answered(_ call: Call) -> Move? {
        // A late answer from a replica the agent has left does not bring it back.
        guard call.replica == current else { return nil }
        defer {
            attached = current
            moveCause = nil
        }
        guard current != attached else { return nil }
        return Move(from: attached, to: current, cause: moveCause ?? Self.unknownCause)
    }

    /// One error for a call every replica failed: the first failure's kind (the one
    /// the session's backoff and messages know), with every replica's message.
    private static func allFailed(_ failures: [ClientError]) -> ClientError {
        guard var first = failures.first else { return unknownCause }
        if failures.count > 1 { first.message = failures.map(\.message).joined(separator: "; ") }
        return first
    }

    private static let unknownCause = ClientError(.unreachable, "the hub replica stopped answering")
}
