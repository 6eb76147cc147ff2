import Synchronization

/// Where the hub's HTTP API listens once it is up.
package struct HubAddress: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    /// `https` when the hub serves TLS, else `http`.
    package var scheme: String

    package init(host: String, port: Int, scheme: String = "http") {
        self.host = host
        self.port = port
        self.scheme = scheme
    }

    /// `SCHEME://HOST:PORT` (IPv6 hosts in brackets).
    package var url: String {
        host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }

    package var description: String { url }
}

/// A one-shot value: the bound address, or `nil` when the server stopped before listening.
final class ListeningAddress: Sendable {
    private struct State {
        var value: HubAddress??
        var waiters: [CheckedContinuation<HubAddress?, Never>] = []
    }

    private let state = Mutex(State())

    /// Sets the value once; later calls are ignored.
    func resolve(_ address: HubAddress?) {
        let waiters = state.withLock { state -> [CheckedContinuation<HubAddress?, Never>] in
            guard state.value == nil else { return [] }
            state.value = .some(address)
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: address) }
    }

    func wait() async -> HubAddress? {
        await withCheckedContinuation { continuation in
            let value = state.withLock { state -> HubAddress?? in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let value { continuation.resume(returning: value) }
        }
    }
}
