import OutpostCore
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
        machine.bytesArrived(at: at(0), count: 20, lineFeedOffset: 15)
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
        for second in 1...9 { machine.bytesArrived(at: Self.at(Int64(second)), count: 1, lineFeedOffset: nil) }
        #expect(machine.deadline == Self.at(10))
        #expect(machine.timerFired(at: Self.at(9)) == nil)
        #expect(machine.timerFired(at: Self.at(10)) == .headerRead)
    }

    @Test("while the hub answers a fully read request (a long poll) nothing times out")
    func longPollNotCut() {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        machine.headReceived(keepAlive: true)
        machine.requestEnded(at: Self.at(1))
        #expect(machine.deadline == nil)
        #expect(machine.timerFired(at: Self.at(600)) == nil)
    }

    @Test("between requests the connection may idle for the idle timeout, not the header-read one")
    func idleBetweenRequests() {
        let machine = Self.served(endingAt: 25)
        #expect(machine.deadline == Self.at(25 + 75))
        #expect(machine.timerFired(at: Self.at(25 + 74)) == nil)
        #expect(machine.timerFired(at: Self.at(25 + 75)) == .idle)
    }

    @Test("the first byte of the next request starts the header-read clock")
    func nextHeadAfterFirstByte() {
        var machine = Self.served(endingAt: 25)
        machine.bytesArrived(at: Self.at(40), count: 1, lineFeedOffset: nil)
        #expect(machine.deadline == Self.at(50))
        #expect(machine.timerFired(at: Self.at(50)) == .headerRead)
        machine.bytesArrived(at: Self.at(45), count: 1, lineFeedOffset: nil)
        #expect(machine.deadline == Self.at(50), "later bytes of the same head do not extend it")
        machine.headReceived(keepAlive: true)
        #expect(machine.deadline == Self.at(45 + 75), "reading the body: the idle clock runs from the last byte")
    }

    @Test("a stalled request body is cut after the idle timeout since its last byte")
    func stalledBody() {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        machine.bytesArrived(at: Self.at(1), count: 100, lineFeedOffset: 20)
        machine.headReceived(keepAlive: true)
        machine.bytesArrived(at: Self.at(30), count: 10, lineFeedOffset: nil)
        #expect(machine.deadline == Self.at(105))
        #expect(machine.timerFired(at: Self.at(105)) == .idle)
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

    @Test("pipelined requests are answered in order, and only the one that asked closes the connection")
    func pipelined() {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        machine.headReceived(keepAlive: true)
        machine.requestEnded(at: Self.at(0))
        machine.headReceived(keepAlive: false)
        machine.requestEnded(at: Self.at(0))
        #expect(machine.keepAlive)
        #expect(machine.responseEnded(at: Self.at(1)) == .none)
        #expect(machine.deadline == nil, "the second request is still being answered")
        #expect(!machine.keepAlive)
        #expect(machine.responseEnded(at: Self.at(2)) == .close)
    }

    @Test("the request line's length is counted up to its line feed, across reads, until the next request")
    func requestLine() {
        var machine = ConnectionTimeouts(limits: Self.limits, openedAt: Self.opened)
        machine.bytesArrived(at: Self.at(0), count: 64 * 1024, lineFeedOffset: nil)
        #expect(!machine.requestLineComplete)
        machine.bytesArrived(at: Self.at(0), count: 64 * 1024, lineFeedOffset: 100)
        #expect(machine.requestLineComplete)
        #expect(machine.requestLineBytes == 64 * 1024 + 100)
        machine.bytesArrived(at: Self.at(0), count: 10, lineFeedOffset: 3)
        #expect(machine.requestLineBytes == 64 * 1024 + 100, "later lines are headers")
        machine.headReceived(keepAlive: true)
        machine.requestEnded(at: Self.at(0))
        _ = machine.responseEnded(at: Self.at(1))
        #expect(!machine.requestLineComplete)
        #expect(machine.requestLineBytes == 0)
    }

    @Test(
        "a refused head gets 414 for a request line past the field limit, 431 otherwise, 400 when malformed",
        arguments: [
            (HTTPParserError.headerOverflow, 100_000, 414, HubError.Code.uriTooLong),
            (.headerOverflow, 80 * 1024, 414, .uriTooLong),
            (.headerOverflow, 80 * 1024 - 1, 431, .headersTooLarge),
            (.headerOverflow, 30, 431, .headersTooLarge),
            (.invalidHeaderToken, 30, 400, .invalidRequest),
        ])
    func refusals(error: HTTPParserError, requestLine: Int, status: Int, code: HubError.Code) {
        let refusal = ConnectionGuardHandler.refusal(for: error, requestLineBytes: requestLine, fieldLimit: 80 * 1024)
        #expect(refusal.status.code == status)
        #expect(refusal.code == code)
        #expect(code.httpStatus.code == status)
    }
}
