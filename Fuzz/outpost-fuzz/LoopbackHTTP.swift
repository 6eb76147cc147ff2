import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A blocking HTTP/1.1 exchange over a fresh loopback TCP connection: the harness sends
/// bytes exactly as given (malformed ones included) and reads until the hub closes.
struct LoopbackHTTP {
    let port: Int
    /// How long one read may wait: a request that waits on purpose (`?wait=`, `follow`)
    /// or one the hub never answers ends here, so one input costs at most this long.
    var readTimeoutSeconds = 2

    struct Answer {
        var status: Int?
        var body: [UInt8]
    }

    /// Sends `request`; with `halfClose` the write side is shut afterwards (for raw
    /// requests that may be incomplete). Returns `nil` when no connection was made.
    func exchange(_ request: [UInt8], halfClose: Bool = false) -> Answer? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: readTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            sent += n
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            // libFuzzer's timeout timer (SIGALRM) interrupts a blocked recv: that is not
            // the hub's answer ending. (Taken for one, it failed a waiting poll.)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            answer.append(contentsOf: buffer[0..<n])
        }
        return Self.parse(answer)
    }

    /// The status code and body of a `Connection: close` answer.
    private static func parse(_ bytes: [UInt8]) -> Answer {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.firstRange(of: separator) else { return Answer(status: nil, body: []) }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let fields = statusLine.split(separator: " ")
        let status = fields.count >= 2 ? Int(fields[1]) : nil
        return Answer(status: status, body: Array(bytes[end.upperBound...]))
    }

    /// A well-formed request with `Connection: close`.
    static func request(
        method: String, target: String, token: String?, contentType: String?, body: [UInt8]
    ) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }
}
