import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP relay to a local port, which a test can kill: a second address of
/// the same server, standing in for a replica. While it lives and is not cut, it
/// forwards every connection byte for byte. `cut()` is the replica dying: every open
/// connection is closed under its clients (a long poll in flight included), and each
/// later connection is reset as soon as it is made. The port stays bound, so no
/// other test can take it meanwhile.
///
/// Blocking sockets on threads of their own: the test's tasks never wait on them.
package final class TCPRelay: Sendable {
    package let port: Int
    private let listener: Int32
    private let connections = Connections()

    /// Starts relaying connections to `127.0.0.1:upstreamPort`.
    /// - Parameter refusingUpgrades: act as a proxy that does not pass WebSocket
    ///   upgrades: a connection whose first request asks for one (an `Upgrade` header)
    ///   gets a `403` HTML page of the proxy's own and is closed; others are relayed.
    package init(upstreamPort: Int, refusingUpgrades: Bool = false) throws {
        let (fd, port) = try LoopbackSocket.open(listenBacklog: 64)
        listener = fd
        self.port = port
        // The thread holds the connections, not the relay, so dropping the relay ends it.
        let connections = self.connections
        Thread {
            Self.acceptLoop(
                listener: fd, upstreamPort: upstreamPort, refusingUpgrades: refusingUpgrades, connections: connections)
        }.start()
    }

    /// Closes every open connection under its clients, as a network failure does, and
    /// goes on relaying new ones.
    package func dropConnections() {
        connections.drop()
    }

    /// How many connections were refused for asking for an upgrade.
    package var refusedUpgrades: Int { connections.refusedUpgrades }

    deinit {
        // Wakes the accepting thread (accept fails), which then ends.
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        connections.cut()
    }

    /// `http://127.0.0.1:PORT`.
    package var url: String { "http://127.0.0.1:\(port)" }

    /// Kills the relay: open connections are cut, new ones reset.
    package func cut() {
        connections.cut()
    }

    /// The connections being relayed, and whether the relay was cut.
    private final class Connections: Sendable {
        private struct State {
            var isCut = false
            /// Sockets of the connections being relayed (both ends), to shut down on `cut()`.
            var open: Set<Int32> = []
            var refusedUpgrades = 0
        }

        private let state = Mutex(State())

        /// Takes a new connection's sockets; `false` once cut (the caller resets it).
        func add(_ sockets: [Int32]) -> Bool {
            state.withLock { state in
                guard !state.isCut else { return false }
                state.open.formUnion(sockets)
                return true
            }
        }

        /// Closes a connection's sockets once both of its pumps ended.
        func remove(_ sockets: [Int32]) {
            state.withLock { state in
                state.open.subtract(sockets)
                for fd in sockets { close(fd) }
            }
        }

        var refusedUpgrades: Int { state.withLock { $0.refusedUpgrades } }

        func refusedUpgrade() { state.withLock { $0.refusedUpgrades += 1 } }

        func drop() {
            state.withLock { state in
                for fd in state.open {
                    TCPRelay.resetOnClose(fd)
                    shutdown(fd, Int32(SHUT_RDWR))
                }
            }
        }

        func cut() {
            state.withLock { state in
                state.isCut = true
                for fd in state.open {
                    TCPRelay.resetOnClose(fd)
                    // Wakes both pumps of the connection; the last one closes its sockets.
                    shutdown(fd, Int32(SHUT_RDWR))
                }
            }
        }
    }

    /// Counts down the two pumps of one connection.
    private final class PumpCount: Sendable {
        private let remaining = Mutex(2)
        /// `true` for the last pump to end.
        func end() -> Bool { remaining.withLock { $0 -= 1; return $0 == 0 } }
    }

    private static func acceptLoop(listener: Int32, upstreamPort: Int, refusingUpgrades: Bool, connections: Connections) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // the listener was shut down
            }
            if refusingUpgrades {
                Thread { screenForUpgrade(client: client, upstreamPort: upstreamPort, connections: connections) }.start()
            } else {
                relay(client: client, upstreamPort: upstreamPort, connections: connections, head: [])
            }
        }
    }

    /// Reads the first request head; refuses it if it asks for an upgrade, else relays
    /// the connection with the head sent on first.
    private static func screenForUpgrade(client: Int32, upstreamPort: Int, connections: Connections) {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while head.count < 64 << 10 {
            let count = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            head.append(contentsOf: buffer[0..<count])
            if head.count >= 4, String(decoding: head, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let text = String(decoding: head, as: UTF8.self).lowercased()
        if text.contains("\r\nupgrade:") {
            connections.refusedUpgrade()
            let page = "<html><body><h1>403 Forbidden</h1>WebSocket upgrades are not allowed by this proxy.</body></html>"
            let answer =
                "HTTP/1.1 403 Forbidden\r\ncontent-type: text/html\r\ncontent-length: \(page.utf8.count)\r\nconnection: close\r\n\r\n"
                + page
            _ = answer.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            shutdown(client, Int32(SHUT_WR))
            close(client)
            return
        }
        relay(client: client, upstreamPort: upstreamPort, connections: connections, head: head)
    }

    private static func relay(client: Int32, upstreamPort: Int, connections: Connections, head: [UInt8]) {
        guard let upstream = dial(port: upstreamPort) else {
            resetOnClose(client)
            close(client)
            return
        }
        guard connections.add([client, upstream]) else {
            resetOnClose(client)
            close(client)
            close(upstream)
            return
        }
        if !head.isEmpty {
            _ = head.withUnsafeBytes { send(upstream, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        let pumps = PumpCount()
        for (from, to) in [(client, upstream), (upstream, client)] {
            Thread {
                pump(from: from, to: to)
                if pumps.end() { connections.remove([client, upstream]) }
            }.start()
        }
    }

    /// Copies bytes until either side ends, then half-closes the other side.
    private static func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        copying: while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            var sent = 0
            while sent < count {
                // MSG_NOSIGNAL: a peer gone is an error here, not a SIGPIPE for the test process.
                let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { break copying }
                sent += written
            }
        }
        shutdown(to, Int32(SHUT_WR))
    }

    private static func dial(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = LoopbackSocket.address(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Linger 0: closing the socket sends a reset, as the kernel of a killed server may.
    fileprivate static func resetOnClose(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    }

}
