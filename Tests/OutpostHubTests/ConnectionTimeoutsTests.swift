import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing

@testable import OutpostHub

@Suite("Connection timeouts")
struct ConnectionTimeoutsTests {
    static let limits = ConnectionTimeouts.Limits(headerRead: .seconds(10), idle: .seconds(75))
    static let opened = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    static func at(_ seconds: Int64) -> NIODeadline { opened + .seconds(seconds) }

    /// A machine that served one request, its response ending at `at(t)`.
    static func served(endingAt t: Int64) -> ConnectionTimeouts {
        var machine = ConnectionTimeouts(limits: limits, openedAt: opened)
        machine.bytesArrived(at: at(0), containsLineFeed: true)
        machine.headReceived(keepAlive: true)
        machine.requestEnded(at: at(0))
        #expect(machine.responseEnded(at: at(t)) == .none)
        return machine
    }

    @Test("a new connection must deliver its head within the header-read timeout, bytes or not")
    func firstHead() {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        #expect(machine.deadline == Self.at(10))
        // A slow-loris head: bytes keep coming, the deadline does not move.
        for second in 1...9 { machine.bytesArrived(at: Self.at(Int64(second)), containsLineFeed: false) }
        #expect(machine.deadline == Self.at(10))
        #expect(machine.timerFired(at: Self.at(9)) == .none)
        #expect(machine.timerFired(at: Self.at(10)) == .close)
    }

    @Test("while the hub answers a fully read request (a long poll) nothing times out")
    func longPollNotCut() {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        machine.headReceived(keepAlive: true)
        machine.requestEnded(at: Self.at(1))
        #expect(machine.deadline == nil)
        #expect(machine.timerFired(at: Self.at(600)) == .none)
    }

    @Test("between requests the connection may idle for the idle timeout, not the header-read one")
    func idleBetweenRequests() {
        let machine = Self.served(endingAt: 25)
        #expect(machine.deadline == Self.at(25 + 75))
        #expect(machine.timerFired(at: Self.at(25 + 74)) == .none)
        #expect(machine.timerFired(at: Self.at(25 + 75)) == .close)
    }

    @Test("the first byte of the next request starts the header-read clock")
    func nextHeadAfterFirstByte() {
        var machine = Self.served(endingAt: 25)
        machine.bytesArrived(at: Self.at(40), containsLineFeed: false)
        #expect(machine.deadline == Self.at(50))
        machine.bytesArrived(at: Self.at(45), containsLineFeed: false)
        #expect(machine.deadline == Self.at(50), "later bytes of the same head do not extend it")
        machine.headReceived(keepAlive: true)
        #expect(machine.deadline == Self.at(45 + 75), "reading the body: the idle clock runs from the last byte")
    }

    @Test("a stalled request body is cut after the idle timeout since its last byte")
    func stalledBody() {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        machine.bytesArrived(at: Self.at(1), containsLineFeed: true)
        machine.headReceived(keepAlive: true)
        machine.bytesArrived(at: Self.at(30), containsLineFeed: false)
        #expect(machine.deadline == Self.at(105))
        #expect(machine.timerFired(at: Self.at(105)) == .close)
    }

    @Test(
        "a request that does not keep the connection alive closes it after its response",
        arguments: [(false, ConnectionTimeouts.Action.close), (true, .none)])
    func keepAlive(keepAlive: Bool, expected: ConnectionTimeouts.Action) {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        machine.headReceived(keepAlive: keepAlive)
        machine.requestEnded(at: Self.at(0))
        #expect(machine.keepAlive == keepAlive)
        #expect(machine.responseEnded(at: Self.at(1)) == expected)
    }

    @Test("a line feed while waiting for a head marks the request line complete, until the next request")
    func requestLine() {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        machine.bytesArrived(at: Self.at(0), containsLineFeed: false)
        #expect(!machine.requestLineComplete)
        machine.bytesArrived(at: Self.at(0), containsLineFeed: true)
        #expect(machine.requestLineComplete)
        machine.headReceived(keepAlive: true)
        machine.requestEnded(at: Self.at(0))
        _ = machine.responseEnded(at: Self.at(1))
        #expect(!machine.requestLineComplete)
    }

    @Test(
        "a refused head gets 414 before its request line ends, 431 after, 400 when malformed",
        arguments: [
            (HTTPParserError.headerOverflow, false, 414, HubError.Code.uriTooLong),
            (.headerOverflow, true, 431, .headersTooLarge),
            (.invalidHeaderToken, true, 400, .invalidRequest),
        ])
    func refusals(error: HTTPParserError, lineComplete: Bool, status: Int, code: HubError.Code) {
        let refusal = ConnectionGuardHandler.refusal(for: error, requestLineComplete: lineComplete)
        #expect(refusal.status.code == status)
        #expect(refusal.code == code)
        #expect(code.httpStatus.code == status)
    }
}
