import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback port that accepts every connection and resets it at once, for as long
/// as this value lives: what a client sees of a server going away in the middle of
/// its TLS handshake (the connection is made, then cut before any answer).
package final class ClosingPort: Sendable {
    package let port: Int
    private let socketDescriptor: Int32

    package init() throws {
        let (fd, port) = try LoopbackSocket.open(listenBacklog: 16)
        socketDescriptor = fd
        self.port = port
        // A thread of its own: accept blocks, and the test's tasks must not wait for it.
        let thread = Thread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 {
                    if errno == EINTR { continue }
                    return  // the listening socket was shut down
                }
                // Linger 0: close sends a reset, as a killed server's kernel does.
                var option = linger(l_onoff: 1, l_linger: 0)
                _ = setsockopt(connection, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
                close(connection)
            }
        }
        thread.start()
    }

    deinit {
        // Wakes the accepting thread (accept fails), which then ends.
        shutdown(socketDescriptor, Int32(SHUT_RDWR))
        close(socketDescriptor)
    }

    /// `https://127.0.0.1:PORT`: a client dialing it starts a TLS handshake that is cut.
    package var url: String { "https://127.0.0.1:\(port)" }
}
