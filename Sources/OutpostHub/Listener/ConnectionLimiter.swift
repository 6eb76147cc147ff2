import Foundation
import Logging
import Synchronization

/// Counts the hub's open connections, in all and per peer, and refuses one past
/// either cap. A refusal is logged at most once per `noticeInterval` per cap, with
/// how many were refused since, so a flood of connections does not flood the log.
final class ConnectionLimiter: Sendable {
    /// Caps in force (after lowering the total to what the descriptor limit allows).
    struct Caps: Sendable, Equatable {
        /// Open connections the hub accepts in all.
        var total: Int
        /// Open connections one peer (IPv4 address or IPv6 /64) may hold; 0 for no per-peer cap.
        var perPeer: Int
    }

    enum Decision: Equatable {
        case admitted
        case refusedTotal
        case refusedPeer
    }

    /// The counts, as a value: the decisions without locks or logging.
    struct Counts: Sendable {
        private(set) var open = 0
        private(set) var byPeer: [PeerAddress: Int] = [:]

        mutating func admit(_ peer: PeerAddress, caps: Caps) -> Decision {
            guard open < caps.total else { return .refusedTotal }
            let held = byPeer[peer, default: 0]
            if caps.perPeer > 0, held >= caps.perPeer { return .refusedPeer }
            open += 1
            byPeer[peer] = held + 1
            return .admitted
        }

        mutating func release(_ peer: PeerAddress) {
            open = max(0, open - 1)
            let held = byPeer[peer, default: 0] - 1
            byPeer[peer] = held > 0 ? held : nil
        }

        func held(by peer: PeerAddress) -> Int { byPeer[peer, default: 0] }
    }

    /// When to log a refusal: the first one, then at most once per interval.
    struct Notice: Sendable {
        private var lastLogged: Date?
        private var refusedSince = 0

        /// Records one refusal; returns how many to report when it is time to log.
        mutating func refused(now: Date, interval: TimeInterval) -> Int? {
            refusedSince += 1
            if let lastLogged, now.timeIntervalSince(lastLogged) < interval { return nil }
            lastLogged = now
            defer { refusedSince = 0 }
            return refusedSince
        }
    }

    static let noticeInterval: TimeInterval = 10

    let caps: Caps
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let metrics: HubMetrics?
    private let state = Mutex(State())

    private struct State {
        var counts = Counts()
        var totalNotice = Notice()
        var peerNotice = Notice()
    }

    init(caps: Caps, now: @escaping @Sendable () -> Date, logger: Logger, metrics: HubMetrics? = nil) {
        self.caps = caps
        self.now = now
        self.logger = logger
        self.metrics = metrics
    }

    /// Counts the connection in, or says why it is refused (and logs that, rate-limited).
    func admit(_ peer: PeerAddress) -> Decision {
        let now = now()
        let (decision, report) = state.withLock { state -> (Decision, Int?) in
            let decision = state.counts.admit(peer, caps: caps)
            switch decision {
            case .admitted: return (decision, nil)
            case .refusedTotal: return (decision, state.totalNotice.refused(now: now, interval: Self.noticeInterval))
            case .refusedPeer: return (decision, state.peerNotice.refused(now: now, interval: Self.noticeInterval))
            }
        }
        metrics?.recordConnection(decision)
        if let report {
            switch decision {
            case .admitted: break
            case .refusedTotal:
                logger.warning(
                    "connection refused: the hub holds its cap of open connections (max_connections)",
                    metadata: [
                        "cap": "\(caps.total)", "peer": "\(peer)",
                        "refused_since_last_notice": "\(report)",
                    ])
            case .refusedPeer:
                logger.warning(
                    "connection refused: the peer holds its cap of open connections (max_connections_per_peer)",
                    metadata: [
                        "cap": "\(caps.perPeer)", "peer": "\(peer)",
                        "refused_since_last_notice": "\(report)",
                    ])
            }
        }
        return decision
    }

    /// A connection admitted by `admit` closed.
    func release(_ peer: PeerAddress) {
        state.withLock { $0.counts.release(peer) }
        metrics?.recordConnectionClosed()
    }

    /// Open connections now.
    var openConnections: Int { state.withLock { $0.counts.open } }
}
