import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import OutpostCore
import Synchronization
import OutpostTestSupport
import Testing

@testable import OutpostHub

@Suite("Connection caps")
struct ConnectionLimiterTests {
    static func peer(_ ip: String) throws -> PeerAddress {
        PeerAddress(try SocketAddress(ipAddress: ip, port: 40000))
    }

    @Test("past the total cap every peer is refused; a closed connection frees a place")
    func totalCap() throws {
        var counts = ConnectionLimiter.Counts()
        let caps = ConnectionLimiter.Caps(total: 3, perPeer: 0)
        for i in 1...3 { #expect(counts.admit(try Self.peer("10.0.0.\(i)"), caps: caps) == .admitted) }
        #expect(counts.admit(try Self.peer("10.0.0.9"), caps: caps) == .refusedTotal)
        counts.release(try Self.peer("10.0.0.2"))
        #expect(counts.admit(try Self.peer("10.0.0.9"), caps: caps) == .admitted)
        #expect(counts.open == 3)
    }

    @Test("past its own cap a peer is refused while other peers still get in")
    func perPeerCap() throws {
        var counts = ConnectionLimiter.Counts()
        let caps = ConnectionLimiter.Caps(total: 100, perPeer: 2)
        let nat = try Self.peer("192.0.2.7")
        #expect(counts.admit(nat, caps: caps) == .admitted)
        #expect(counts.admit(nat, caps: caps) == .admitted)
        #expect(counts.admit(nat, caps: caps) == .refusedPeer)
        #expect(counts.admit(try Self.peer("192.0.2.8"), caps: caps) == .admitted)
        counts.release(nat)
        #expect(counts.held(by: nat) == 1)
        #expect(counts.admit(nat, caps: caps) == .admitted)
    }

    @Test(
        "peers are IPv4 addresses and IPv6 /64s; an IPv4-mapped address counts as its IPv4 address",
        arguments: [
            ("2001:db8:1:2::1", "2001:db8:1:2::5", true),
            ("2001:db8:1:2::1", "2001:db8:1:3::1", false),
            ("::ffff:10.1.2.3", "10.1.2.3", true),
            ("10.1.2.3", "10.1.2.4", false),
        ])
    func peerGrouping(a: String, b: String, same: Bool) throws {
        #expect((try Self.peer(a) == Self.peer(b)) == same)
    }

    @Test("a refusal is logged at once, then at most once per interval with the count since")
    func rateLimitedNotice() {
        var notice = ConnectionLimiter.Notice()
        let start = Date(timeIntervalSince1970: 1_750_000_000)
        #expect(notice.refused(now: start, interval: 10) == 1)
        for second in 1...9 { #expect(notice.refused(now: start + TimeInterval(second), interval: 10) == nil) }
        #expect(notice.refused(now: start + 10, interval: 10) == 10)
        #expect(notice.refused(now: start + 11, interval: 10) == nil)
    }

    @Test("a flood of refused connections writes one log line per interval")
    func floodLogsOnce() throws {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in lines }
        let clock = ManualClock()
        let limiter = ConnectionLimiter(caps: .init(total: 1, perPeer: 0), now: { clock.date }, logger: logger)
        let peer = try Self.peer("10.0.0.1")
        #expect(limiter.admit(peer) == .admitted)
        for _ in 0..<1000 { #expect(limiter.admit(peer) == .refusedTotal) }
        #expect(lines.count == 1)
        #expect(lines.last?.contains("max_connections") == true)
        clock.advance(by: 10)
        #expect(limiter.admit(peer) == .refusedTotal)
        #expect(lines.count == 2)
        #expect(lines.last?.contains("refused_since_last_notice=1000") == true)
        limiter.release(peer)
        #expect(limiter.admit(peer) == .admitted)
    }

    @Test("open and refused connections are counted in /metrics")
    func counted() throws {
        let metrics = HubMetrics()
        let limiter = ConnectionLimiter(
            caps: .init(total: 3, perPeer: 2), now: { Date() }, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            metrics: metrics)
        let nat = try Self.peer("10.0.0.1")
        for _ in 0..<5 { _ = limiter.admit(nat) }
        _ = limiter.admit(try Self.peer("10.0.0.2"))
        _ = limiter.admit(try Self.peer("10.0.0.3"))
        limiter.release(nat)
        let text = String(decoding: metrics.exposition(fleet: FleetSnapshot(), offlineAgents: 0, notifyStatements: 0, now: Date()), as: UTF8.self)
        let exposition = try Exposition(text)
        #expect(exposition.value("outpost_connections_open") == 2)
        #expect(exposition.value("outpost_connections_refused_total", ["cap": "peer"]) == 3)
        #expect(exposition.value("outpost_connections_refused_total", ["cap": "total"]) == 1)
        #expect(exposition.types["outpost_connections_refused_total"] == "counter")
    }

    @Test(
        "the total cap leaves room under the open-file limit; the per-peer cap never exceeds it",
        arguments: [
            (1024, 768, 768), (20_000, 19_744, 8192), (1_048_576, 32_768, 8192),
        ])
    func capsFromDescriptorLimit(limit: Int, total: Int, perPeer: Int) {
        let caps = ListenerSetup.caps(configuration: HubConfiguration(), descriptorLimit: limit)
        #expect(caps == .init(total: total, perPeer: perPeer))
    }

    @Test("listener settings are validated with the key named")
    func validation() {
        var configuration = HubConfiguration()
        configuration.idleTimeout = .seconds(5)
        #expect(throws: ValidationError.self) { try configuration.validate() }
        configuration = HubConfiguration()
        configuration.maxConnections = 0
        do {
            try configuration.validate()
            Issue.record("max_connections 0 was accepted")
        } catch {
            #expect(error.field == "max_connections")
        }
    }
}

/// A log handler that keeps each line's message and metadata, for tests that count lines.
final class LogLines: LogHandler, @unchecked Sendable {
    private let lines = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let meta = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.withLock { $0.append(([event.message.description] + meta).joined(separator: " ")) }
    }

    var count: Int { lines.withLock { $0.count } }
    var last: String? { lines.withLock { $0.last } }
}

@Suite("Open-file limit")
struct DescriptorLimitTests {
    @Test("raising the soft limit sets it to the hard limit and reports both")
    func raise() throws {
        let raised = try #require(DescriptorLimit.raiseSoftToHard())
        var limit = rlimit()
        #expect(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let hard = limit.rlim_max == rlim_t.max ? Int.max : Int(clamping: limit.rlim_max)
        #expect(raised.after == hard)
        #expect(raised.after >= raised.before)
        #expect(DescriptorLimit.current() == raised.after)
        #expect(DescriptorLimit.connectionRoom(descriptorLimit: raised.after) == max(16, raised.after - 256))
    }
}
