#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which hosts are this machine's loopback: the one rule, shared by the clients (that
/// refuse plain `http://` elsewhere) and the hub (that refuses to listen without TLS
/// elsewhere), so both sides agree on where a bearer token may travel in clear text.
package enum LoopbackHost {
    /// Whether `host` is `localhost`, an address in 127.0.0.0/8, or `::1` (also
    /// bracketed, as in a URL, and as the IPv4-mapped `::ffff:127.x.y.z`).
    ///
    /// Only addresses are judged by their value; other names (`localhost.example`)
    /// are not loopback, since a resolver may send them anywhere.
    package static func contains(_ host: String) -> Bool {
        var text = host.lowercased()
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.hasSuffix(".") { text.removeLast() }
        if text == "localhost" { return true }
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4[0] == 127 }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, text, &bytes) == 1 else { return false }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xff, 0xff]
        return Array(bytes[0..<12]) == mappedPrefix && bytes[12] == 127
    }
}
