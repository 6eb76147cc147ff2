/// Which hosts are this machine's loopback: the only places where plain HTTP
/// (tokens in clear text) is safe without asking. One rule for the hub (may it
/// listen without TLS?) and its clients (may they send a token over http://?).
package enum LoopbackHost {
    /// `localhost`, any 127.0.0.0/8 address, and `::1` (bracketed or not).
    package static func contains(_ host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in part.count <= 3 && UInt8(part) != nil }
    }
}
