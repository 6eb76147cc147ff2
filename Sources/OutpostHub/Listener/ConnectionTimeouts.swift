import NIOCore

/// When one HTTP/1 connection must be closed for being slow or idle: a pure state
/// machine fed by `ConnectionGuardHandler`, tested without sockets.
///
/// The rules, and why:
/// - A new connection must deliver a complete request head within `headerRead` of
///   opening. It was opened to send a request; one that sends nothing (or trickles a
///   slow-loris head) only holds a descriptor.
/// - Between requests on a kept-alive connection it may stay silent for `idle`, which
///   is longer than the HTTP client's own pool timeout so the client, not the hub,
///   closes a quiet connection (no race with a request sent as the hub closes). Once
///   the first byte of the next request arrives, its head must be complete within
///   `headerRead` of that byte.
/// - While a request body streams in, the connection may be silent for `idle` at most.
/// - Once a request is fully read and the hub works on its answer (a long poll holds
///   it ~25 s with no byte flowing), nothing times out: the hub bounds its own work.
/// - A request that does not keep the connection alive (HTTP/1.0 without
///   `Connection: keep-alive`, or `Connection: close`) closes it after its response.
struct ConnectionTimeouts {
    struct Limits: Sendable, Equatable {
        /// Longest time from a connection opening (or a request's first byte) to its complete head.
        var headerRead: TimeAmount
        /// Longest silence between requests, or inside a request body.
        var idle: TimeAmount
    }

    enum Action: Equatable {
        case none
        /// Close the connection (after the response just written, when there is one).
        case close
    }

    /// Which limit a connection was closed for (the label of `outpost_connections_timed_out_total`).
    enum Expiry: String, Sendable, CaseIterable {
        /// No complete request head within `headerRead`.
        case headerRead = "header_read"
        /// Silent for `idle` between requests or inside a request body.
        case idle
    }

    let limits: Limits
    /// When the connection last started waiting for a request head.
    private var waitingSince: NIODeadline
    /// Whether a request was already served: the first head has the shorter deadline.
    private var servedAny = false
    /// The first byte received while waiting for a head, if any.
    private var firstByteOfHead: NIODeadline?
    /// The last byte received at all.
    private var lastByte: NIODeadline
    /// A request head arrived and its end did not yet.
    private var requestOpen = false
    /// Whether each request still owed a response lets the connection stay open after
    /// it, oldest first (a client may pipeline requests before the first is answered).
    private var owed: [Bool] = []
    /// Whether the request now being answered lets the connection stay open after its response.
    var keepAlive: Bool { owed.first ?? true }
    /// Whether a line feed arrived since the hub started waiting for a head, and how
    /// many bytes came before it (or so far, without one): a head that overflows with a
    /// request line past the field limit has an overlong URL (414), otherwise too many
    /// or too large header fields (431).
    private(set) var requestLineComplete = false
    private(set) var requestLineBytes = 0

    init(limits: Limits, openedAt: NIODeadline) {
        self.limits = limits
        waitingSince = openedAt
        lastByte = openedAt
    }

    /// Waiting for a request head: no request is being read or answered.
    var isAwaitingHead: Bool { !requestOpen && owed.isEmpty }

    /// When the connection must close unless something happens first; `nil` while the
    /// hub is answering a fully read request.
    var deadline: NIODeadline? { pending?.at }

    /// The deadline and the limit it enforces.
    private var pending: (at: NIODeadline, expiry: Expiry)? {
        if isAwaitingHead {
            if !servedAny { return (waitingSince + limits.headerRead, .headerRead) }
            if let firstByteOfHead { return (firstByteOfHead + limits.headerRead, .headerRead) }
            return (waitingSince + limits.idle, .idle)
        }
        if requestOpen { return (lastByte + limits.idle, .idle) }
        return nil
    }

    /// `count` bytes arrived; `lineFeedOffset` is the offset of the first `\n` among them.
    mutating func bytesArrived(at now: NIODeadline, count: Int, lineFeedOffset: Int?) {
        lastByte = now
        guard isAwaitingHead else { return }
        if firstByteOfHead == nil { firstByteOfHead = now }
        guard !requestLineComplete else { return }
        if let lineFeedOffset {
            requestLineBytes += lineFeedOffset
            requestLineComplete = true
        } else {
            requestLineBytes += count
        }
    }

    /// A request head was decoded.
    mutating func headReceived(keepAlive: Bool) {
        requestOpen = true
        owed.append(keepAlive)
    }

    /// The request's end (after its body) was decoded.
    mutating func requestEnded(at now: NIODeadline) {
        requestOpen = false
        if owed.isEmpty { startWaiting(at: now) }
    }

    /// The response's end is being written.
    mutating func responseEnded(at now: NIODeadline) -> Action {
        let keptAlive = owed.isEmpty ? true : owed.removeFirst()
        servedAny = true
        guard keptAlive else { return .close }
        if isAwaitingHead { startWaiting(at: now) }
        return .none
    }

    /// The timer armed for `deadline` fired at `now`: the limit passed (close the
    /// connection), or `nil` when the deadline moved on since.
    func timerFired(at now: NIODeadline) -> Expiry? {
        guard let pending, now >= pending.at else { return nil }
        return pending.expiry
    }

    private mutating func startWaiting(at now: NIODeadline) {
        waitingSince = now
        firstByteOfHead = nil
        requestLineComplete = false
        requestLineBytes = 0
    }
}
