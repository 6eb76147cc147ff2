import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The unit the per-peer connection cap counts: one IPv4 address, or one IPv6 /64
/// (a single host is routinely handed a whole /64, so counting full IPv6 addresses
/// would let one machine open unlimited connections).
struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    let description: String

    init(_ address: SocketAddress?) {
        switch address {
        case .v4?:
            description = address?.ipAddress ?? "unknown"
        case .v6?:
            let text = address?.ipAddress ?? "unknown"
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else {
                description = text
                return
            }
            description = Self.describe(ipv6: withUnsafeBytes(of: &raw) { Array($0) }) ?? text
        case .unixDomainSocket?, nil:
            description = "local"
        }
    }

    /// An IPv4-mapped address (`::ffff:a.b.c.d`) as its IPv4 address, anything else as its /64.
    static func describe(ipv6 bytes: [UInt8]) -> String? {
        guard bytes.count == 16 else { return nil }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
