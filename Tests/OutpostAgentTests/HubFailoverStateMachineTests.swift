@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostTransport
import Testing

/// Which replica of the hub a call goes to, and what a failure does next: pure decisions.
@Suite("Hub failover state machine")
struct HubFailoverStateMachineTests {
    static let refused = ClientError(.unreachable, "cannot reach the hub at http://a: connection refused")

    typealias Move = HubFailoverStateMachine.Move

    /// How one call went: the replicas it was sent to, the error it reported (`nil`:
    /// it succeeded) and the move announced.
    struct Trace: Equatable {
        var replicas: [Int]
        var reported: ClientError?
        var move: Move?
    }

    /// Runs one call through `machine`, failing it with `errors` in turn, then succeeding.
    static func run(_ machine: inout HubFailoverStateMachine, failingWith errors: [ClientError] = []) -> Trace {
        var call = machine.begin()
        var trace = Trace(replicas: [call.replica])
        for error in errors {
            switch machine.failed(call, with: error) {
            case .retry(let next):
                call = next
                trace.replicas.append(next.replica)
            case .report(let reported, let move):
                trace.reported = reported
                trace.move = move
                return trace
            }
        }
        trace.move = machine.answered(call)
        return trace
    }

    @Test(
        "a replica that is gone fails over; an answer of the hub does not",
        arguments: [
            (ClientError(.unreachable, "connection refused"), true),
            (ClientError(.unreachable, "connection closed"), true),
            (ClientError(.unreachable, "no answer in time"), true),
            (ClientError(.http(status: 502, code: nil), "bad gateway"), true),
            (ClientError(.http(status: 503, code: .notReady), "not ready"), true),
            (ClientError(.http(status: 503, code: .tooManyConnections), "at its cap"), true),
            (ClientError(.http(status: 504, code: nil), "gateway timeout"), true),
            (ClientError(.http(status: 500, code: .internal), "internal"), false),
            (ClientError(.http(status: 401, code: .unauthorized), "bad token"), false),
            (ClientError(.http(status: 401, code: .agentOffline), "offline"), false),
            (ClientError(.http(status: 403, code: .forbidden), "forbidden"), false),
            (ClientError(.http(status: 404, code: .notFound), "no task"), false),
            (ClientError(.http(status: 409, code: .taskFinished), "finished"), false),
            (ClientError(.http(status: 409, code: .logGap), "gap", expectedOffset: 3), false),
            (ClientError(.http(status: 429, code: nil), "slow down"), false),
            (ClientError(.tls(.expired), "the hub's certificate expired"), false),
            (ClientError(.invalidResponse, "not JSON"), false),
            (ClientError(.invalidRequest, "refusing plain http://"), false),
        ])
    func classification(error: ClientError, failsOver: Bool) {
        #expect(HubFailoverStateMachine.failsOver(error) == failsOver)
    }

    @Test("calls go to the first URL and stay there while it works")
    func sticksToTheFirst() {
        var machine = HubFailoverStateMachine(replicaCount: 3)
        for _ in 0..<5 {
            #expect(Self.run(&machine) == Trace(replicas: [0]))
        }
    }

    @Test("a replica that is gone moves the same call to the next one, and later calls stay there")
    func movesAndSticks() {
        var machine = HubFailoverStateMachine(replicaCount: 3)
        #expect(
            Self.run(&machine, failingWith: [Self.refused])
                == Trace(replicas: [0, 1], move: Move(from: 0, to: 1, cause: Self.refused)))
        #expect(machine.current == 1)
        // Replica 0 may be back by now: healthy calls do not wander back to it.
        for _ in 0..<3 {
            #expect(Self.run(&machine) == Trace(replicas: [1]))
        }
    }

    @Test("passing over several dead replicas, the move names the failure of the one the agent left")
    func causeIsTheLeftReplicas() {
        var machine = HubFailoverStateMachine(replicaCount: 3)
        let passedOver = ClientError(.unreachable, "cannot reach the hub at http://b: connection closed")
        #expect(
            Self.run(&machine, failingWith: [Self.refused, passedOver])
                == Trace(replicas: [0, 1, 2], move: Move(from: 0, to: 2, cause: Self.refused)))
    }

    @Test("an answer of the hub is reported as it is, without trying another replica")
    func refusalIsNotFailedOver() {
        var machine = HubFailoverStateMachine(replicaCount: 2)
        let refusal = ClientError(.http(status: 401, code: .unauthorized), "bad token")
        #expect(Self.run(&machine, failingWith: [refusal]) == Trace(replicas: [0], reported: refusal))
        #expect(machine.current == 0)
    }

    @Test("after a move, the new replica's refusal is what the call reports, and the move is announced")
    func refusalAfterAMove() {
        var machine = HubFailoverStateMachine(replicaCount: 3)
        let conflict = ClientError(.http(status: 409, code: .taskFinished), "finished")
        #expect(
            Self.run(&machine, failingWith: [Self.refused, conflict])
                == Trace(replicas: [0, 1], reported: conflict, move: Move(from: 0, to: 1, cause: Self.refused)))
    }

    @Test("with every replica gone, the call tries each once and reports the first failure's kind with every message")
    func allGone() {
        var machine = HubFailoverStateMachine(replicaCount: 3)
        let errors = [
            Self.refused,
            ClientError(.http(status: 503, code: nil), "the hub answered HTTP 503 for /api/v1/agent/poll"),
            ClientError(.unreachable, "cannot reach the hub at http://c: no answer in time"),
        ]
        let trace = Self.run(&machine, failingWith: errors)
        #expect(trace.replicas == [0, 1, 2])
        #expect(trace.move == nil)
        #expect(trace.reported?.code == .unreachable)
        #expect(trace.reported?.message == errors.map(\.message).joined(separator: "; "))
        // The next call (after the session's backoff) starts where this one ended and
        // wraps around the list; the replica that answers is announced, once.
        #expect(machine.current == 2)
        #expect(
            Self.run(&machine, failingWith: [Self.refused, Self.refused])
                == Trace(replicas: [2, 0, 1], move: Move(from: 0, to: 1, cause: Self.refused)))
        #expect(Self.run(&machine) == Trace(replicas: [1]))
    }

    @Test("when every replica was gone and the one the agent was on answers first, there is no move to announce")
    func backWhereItWas() {
        var machine = HubFailoverStateMachine(replicaCount: 2)
        #expect(Self.run(&machine, failingWith: [Self.refused, Self.refused]).reported != nil)
        #expect(Self.run(&machine, failingWith: [Self.refused]) == Trace(replicas: [1, 0]))
    }

    @Test("with one URL, a failure is reported unchanged")
    func singleURL() {
        var machine = HubFailoverStateMachine(replicaCount: 1)
        #expect(Self.run(&machine, failingWith: [Self.refused]) == Trace(replicas: [0], reported: Self.refused))
        #expect(Self.run(&machine) == Trace(replicas: [0]))
    }

    @Test("a call that fails after another call moved the agent follows it, and only one move is announced")
    func concurrentCalls() {
        var machine = HubFailoverStateMachine(replicaCount: 3)
        let slow = machine.begin()
        let fast = machine.begin()
        guard case .retry(let moved) = machine.failed(fast, with: Self.refused) else {
            Issue.record("expected a retry")
            return
        }
        #expect(moved.replica == 1)
        // The slow call's failure on replica 0 follows to 1, without a move of its own.
        guard case .retry(let followed) = machine.failed(slow, with: Self.refused) else {
            Issue.record("expected a retry")
            return
        }
        #expect(followed.replica == 1)
        #expect(machine.current == 1)
        #expect(machine.answered(followed) == Move(from: 0, to: 1, cause: Self.refused))
        #expect(machine.answered(moved) == nil)
    }

    @Test("a late answer from a replica the agent has left neither moves it back nor is announced")
    func lateAnswer() {
        var machine = HubFailoverStateMachine(replicaCount: 2)
        let slow = machine.begin()
        _ = Self.run(&machine, failingWith: [Self.refused])
        #expect(machine.answered(slow) == nil)
        #expect(machine.current == 1)
    }
}
