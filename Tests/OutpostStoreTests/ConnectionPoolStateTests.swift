import PropertyBased
import Testing

@testable import OutpostStore

/// The pool's decisions, without connections: connections are numbers here.
@Suite("Connection pool decisions")
struct ConnectionPoolStateTests {
    typealias State = ConnectionPoolState<Int>
    let now = ContinuousClock.now

    @Test("opens up to its maximum, reuses the connection returned last, then makes callers wait")
    func opensReusesThenWaits() {
        var state = State(maximum: 2)
        #expect(isOpen(state.lease(1)))
        #expect(isOpen(state.lease(2)))
        let first = state.opened(), second = state.opened()
        #expect(first && second)
        #expect(isWait(state.lease(3)))
        #expect(state.count == 2 && state.waiters == [3])
    }

    @Test("a connection given back goes to the oldest waiter; one given back broken lets it open another")
    func givenBackGoesToTheOldestWaiter() {
        var state = holding(1, of: 1)
        _ = state.lease(2)
        _ = state.lease(3)
        guard case .wake(.handOver(waiter: 2, 10)) = state.giveBack(10, reusable: true, at: now) else {
            Issue.record("connection 10 should go to caller 2")
            return
        }
        guard case .close(wake: .open(waiter: 3)) = state.giveBack(10, reusable: false, at: now) else {
            Issue.record("a broken connection should be closed and caller 3 let open one")
            return
        }
        #expect(state.count == 1 && state.opening == 1 && state.waiters.isEmpty)
        let opened = state.opened()
        #expect(opened)
        guard case .keep = state.giveBack(11, reusable: true, at: now) else {
            Issue.record("with nobody waiting the connection should stay idle")
            return
        }
        #expect(state.idle.map(\.connection) == [11])
        guard case .use(11) = state.lease(4) else {
            Issue.record("the idle connection should be reused")
            return
        }
    }

    @Test("a failed attempt hands its room to the oldest waiter, which tries in turn")
    func failedOpenWakesAWaiter() {
        var state = State(maximum: 1)
        _ = state.lease(1)
        _ = state.lease(2)
        guard case .open(waiter: 2)? = state.openFailed() else {
            Issue.record("caller 2 should try to open a connection")
            return
        }
        let none = state.openFailed()
        #expect(none == nil)
        #expect(state.count == 0)
    }

    @Test("idle connections the server ended are forgotten, and their room goes to waiters")
    func deadIdleConnectionsAreDropped() {
        var state = holding(2, of: 2)
        _ = state.giveBack(10, reusable: true, at: now)
        _ = state.giveBack(11, reusable: true, at: now)
        let wakes = state.dropIdle(where: { $0 == 10 })
        #expect(wakes.isEmpty)
        #expect(state.idle.map(\.connection) == [11] && state.count == 1)
    }

    @Test("a connection idle for the idle timeout is closed instead of leased; a younger one is kept")
    func idleConnectionsExpire() {
        var state = holding(2, of: 2, idleTimeout: .seconds(60))
        _ = state.giveBack(10, reusable: true, at: now)
        _ = state.giveBack(11, reusable: true, at: now + .seconds(30))
        let early = state.expireIdle(at: now + .seconds(59))
        #expect(early.isEmpty)
        let expired = state.expireIdle(at: now + .seconds(60))
        #expect(expired == [10])
        #expect(state.idle.map(\.connection) == [11] && state.count == 1)
    }

    @Test("a caller that stops waiting leaves the queue; one already woken cannot")
    func stopWaiting() {
        var state = holding(1, of: 1)
        _ = state.lease(2)
        _ = state.lease(3)
        let left = state.stopWaiting(2)
        #expect(left)
        guard case .wake(.handOver(waiter: 3, 10)) = state.giveBack(10, reusable: true, at: now) else {
            Issue.record("caller 3 is next once caller 2 left")
            return
        }
        let leftLate = state.stopWaiting(3)
        #expect(!leftLate)
    }

    @Test("after shutting down: nothing is leased, opened or kept, and every waiter is failed")
    func shutDown() {
        var state = State(maximum: 2)
        _ = state.lease(1)
        _ = state.lease(2)
        _ = state.opened()
        _ = state.giveBack(10, reusable: true, at: now)
        _ = state.lease(3)  // takes 10
        _ = state.lease(4)  // waits: 3 holds 10, 2 is opening
        let (close, fail) = state.shutDown()
        #expect(close.isEmpty && fail == [4])
        let openedAfter = state.opened()
        #expect(!openedAfter)
        guard case .close(wake: nil) = state.giveBack(10, reusable: true, at: now) else {
            Issue.record("a connection given back after shutdown should be closed")
            return
        }
        guard case .shutDown = state.lease(5) else {
            Issue.record("no lease after shutdown")
            return
        }
    }

    /// Callers ask, open, give back (some broken), fail to connect, give up waiting,
    /// lose idle connections and let them expire in any order: the guarantees hold
    /// after every step, and once every holder gives back and every attempt
    /// succeeds, nobody is left waiting.
    @Test("any order of events keeps the limit, leaves no connection idle beside a waiter, serves in order, and strands nobody")
    func anyOrderOfEvents() async {
        await propertyCheck(
            count: 500,
            input: Gen.int(in: 1...4), Gen.int(in: 0...99).array(of: 1...80)
        ) { maximum, events in
            var model = PoolModel(maximum: maximum)
            for event in events {
                model.step(event)
                model.checkGuarantees()
            }
            model.settle()
            #expect(model.state.waiters.isEmpty, "callers stranded: \(model.state.waiters)")
            #expect(model.state.count <= maximum)
        }
    }
}

/// Callers and connections around a `ConnectionPoolState`, acting on its decisions.
private struct PoolModel {
    var state: ConnectionPoolState<Int>
    let maximum: Int
    /// Connections callers hold.
    var held: [Int] = []
    /// Callers opening a connection.
    var openers = 0
    /// Callers waiting, in the order they asked, as the model expects them served.
    var queue: [UInt64] = []
    var nextCaller: UInt64 = 0
    var nextConnection = 0
    var now = ContinuousClock.now

    init(maximum: Int) {
        self.maximum = maximum
        state = ConnectionPoolState(maximum: maximum)
    }

    mutating func step(_ event: Int) {
        switch event % 8 {
        case 0, 1: ask()
        case 2: if !held.isEmpty { giveBack(at: event % held.count, reusable: event % 3 != 0) }
        case 3: if openers > 0 { finishOpening(succeeded: event % 4 != 0) }
        case 4: if !queue.isEmpty { giveUp(queue[event % queue.count]) }
        case 5: serverEndsIdle(event)
        case 7:
            // Time passes: connections idle for the timeout are closed.
            now += .seconds(event % 90)
            _ = state.expireIdle(at: now)
        default: if openers > 0 { finishOpening(succeeded: true) }
        }
    }

    /// Every holder gives back and every attempt succeeds, until nothing moves.
    mutating func settle() {
        var steps = 0
        while (!held.isEmpty || openers > 0), steps < 1_000 {
            if openers > 0 { finishOpening(succeeded: true) } else { giveBack(at: 0, reusable: true) }
            checkGuarantees()
            steps += 1
        }
    }

    func checkGuarantees() {
        #expect(state.count <= maximum, "over the limit")
        #expect(state.idle.isEmpty || state.waiters.isEmpty, "a connection idle while callers wait")
        #expect(state.leased == held.count && state.opening == openers, "the pool lost count")
        #expect(state.waiters == queue, "the queue is out of order")
    }

    private mutating func ask() {
        let caller = nextCaller
        nextCaller += 1
        switch state.lease(caller) {
        case .use(let connection): held.append(connection)
        case .open: openers += 1
        case .wait: queue.append(caller)
        case .shutDown: Issue.record("the pool never shut down")
        }
    }

    private mutating func giveBack(at index: Int, reusable: Bool) {
        let connection = held.remove(at: index)
        switch state.giveBack(connection, reusable: reusable, at: now) {
        case .keep: break
        case .close(let wake): apply(wake)
        case .wake(let wake): apply(wake)
        }
    }

    private mutating func finishOpening(succeeded: Bool) {
        openers -= 1
        if succeeded {
            let kept = state.opened()
            #expect(kept)
            nextConnection += 1
            held.append(nextConnection)
        } else {
            apply(state.openFailed())
        }
    }

    private mutating func giveUp(_ caller: UInt64) {
        let left = state.stopWaiting(caller)
        #expect(left)
        queue.removeAll { $0 == caller }
    }

    private mutating func serverEndsIdle(_ event: Int) {
        guard !state.idle.isEmpty else { return }
        let victim = state.idle[event % state.idle.count].connection
        for wake in state.dropIdle(where: { $0 == victim }) { apply(wake) }
    }

    private mutating func apply(_ wake: ConnectionPoolState<Int>.Wake?) {
        guard let wake else { return }
        let caller: UInt64
        switch wake {
        case .handOver(let waiter, let connection):
            caller = waiter
            held.append(connection)
        case .open(let waiter):
            caller = waiter
            openers += 1
        }
        #expect(caller == queue.first, "woke \(caller), not the oldest waiter")
        queue.removeAll { $0 == caller }
    }
}

/// A pool of `maximum` whose first `count` callers (1, 2, …) each opened a connection
/// and hold it.
private func holding(_ count: Int, of maximum: Int, idleTimeout: Duration = .seconds(60)) -> ConnectionPoolState<Int> {
    var state = ConnectionPoolState<Int>(maximum: maximum, idleTimeout: idleTimeout)
    for caller in 1...count {
        _ = state.lease(UInt64(caller))
        _ = state.opened()
    }
    return state
}

private func isOpen(_ decision: ConnectionPoolState<Int>.LeaseDecision) -> Bool {
    if case .open = decision { return true }
    return false
}

private func isWait(_ decision: ConnectionPoolState<Int>.LeaseDecision) -> Bool {
    if case .wait = decision { return true }
    return false
}
