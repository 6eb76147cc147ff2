#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback port that refuses every connection, for as long as this value lives.
///
/// The socket is bound but never listens, so a connection attempt gets an
/// immediate RST ("connection refused") and no other test running in parallel
/// can bind the port in the meantime. (A port freed after a server stopped is
/// not enough: under load another test takes it, and the refusal becomes a
/// hang or a foreign answer.)
public final class RefusingPort: Sendable {
    public let port: Int
    private let socketDescriptor: Int32

    public init() throws {
        (socketDescriptor, port) = try LoopbackSocket.open(listenBacklog: nil)
    }

    deinit { close(socketDescriptor) }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    public var url: String { "http://127.0.0.1:\(port)" }
}

public struct RefusingPortError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int32
    public var description: String { "\(operation) of a loopback socket failed: errno \(code)" }
}

/// TCP sockets on an ephemeral loopback port, for the test servers that stand in
/// for a peer (`RefusingPort`, `ClosingPort`, `TCPRelay`).
enum LoopbackSocket {
    static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }

    /// A socket bound to a free loopback port, listening when `listenBacklog` is
    /// given (never listening: every connection to it is refused). Returns it and the port.
    static func open(listenBacklog: Int32?) throws -> (descriptor: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RefusingPortError(operation: "socket", code: errno) }
        var address = address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound, listenBacklog.map({ listen(fd, $0) == 0 }) ?? true else {
            let code = errno
            close(fd)
            throw RefusingPortError(operation: listenBacklog == nil ? "bind" : "bind and listen", code: code)
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
