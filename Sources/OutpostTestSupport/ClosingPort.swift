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
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RefusingPortError(operation: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw RefusingPortError(operation: "bind and listen", code: code)
        }
        socketDescriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
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
