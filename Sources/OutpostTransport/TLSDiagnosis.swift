package import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwiftASN1
import X509

/// Finds why the hub's certificate chain was refused, from the certificates alone
/// (no I/O, the clock passed in), so a TLS failure can say "expired on ..." instead of
/// BoringSSL's "CERTIFICATE_VERIFY_FAILED".
///
/// Causes are checked in the order a person fixes them: a pin that names none of the
/// presented certificates, then validity dates, then the host name, then the issuer.
package enum TLSDiagnosis {
    /// The cause, or `nil` when the certificates show none (the failure lies elsewhere,
    /// e.g. in the protocol; the caller then keeps the transport's own words).
    /// - Parameters:
    ///   - chain: the DER certificates the hub presented, leaf first.
    ///   - host: the host the client dials (a name or an IP address, brackets allowed).
    package static func diagnose(chain: [[UInt8]], host: String, trust: HubTrust, now: Date) -> TLSProblem? {
        let certificates = chain.compactMap { try? Certificate(derEncoded: $0) }
        guard let leaf = certificates.first, certificates.count == chain.count else { return nil }
        if let pin = trust.pin, !chain.contains(where: pin.matches) {
            return pinMismatch(pin: pin, chain: chain)
        }
        for (index, certificate) in certificates.enumerated() {
            let what = index == 0 ? "the hub's certificate" : "the CA certificate \(certificate.subject) in the hub's chain"
            let subject = index == 0 ? " (\(certificate.subject))" : ""
            if now > certificate.notValidAfter {
                return TLSProblem(.expired, "\(what) expired on \(format(certificate.notValidAfter))\(subject)")
            }
            if now < certificate.notValidBefore {
                return TLSProblem(
                    .notYetValid,
                    "\(what) is not valid before \(format(certificate.notValidBefore))\(subject); check this host's clock")
            }
        }
        let names = (try? leaf.extensions.subjectAlternativeNames).flatMap { $0.map(Array.init) } ?? []
        if !names.contains(where: { matches($0, host: host) }) {
            let listed = names.isEmpty ? "no host at all (no subject alternative names)" : names.map(text).joined(separator: ", ")
            return TLSProblem(
                .wrongHost, "the hub's certificate (\(leaf.subject)) is issued for \(listed), not for \(unbracketed(host))")
        }
        return untrusted(certificates: certificates, chain: chain, trust: trust)
    }

    /// The pin names none of `chain`: say which certificate the hub does present.
    package static func pinMismatch(pin: CertificatePin, chain: [[UInt8]]) -> TLSProblem {
        let leafSubject = chain.first.flatMap { try? Certificate(derEncoded: $0) }.map { " (\($0.subject))" } ?? ""
        let leafHash = chain.first.map(CertificatePin.fingerprint(of:)) ?? "none"
        return TLSProblem(
            .pinMismatch,
            "no certificate the hub presents has the pinned SHA-256 \(pin); its certificate\(leafSubject) has SHA-256 \(leafHash)")
    }

    /// The chain leads to no trusted certificate, or `nil` when it seems to (a CA
    /// file that holds the issuer), since then the certificates do not explain the failure.
    private static func untrusted(certificates: [Certificate], chain: [[UInt8]], trust: HubTrust) -> TLSProblem? {
        let top = certificates[certificates.count - 1]
        let leaf = certificates[0]
        if let pin = trust.pin {
            // The pin matched (checked first), yet verification failed: the pinned
            // certificate cannot anchor the chain (a leaf issued by another CA).
            let pinned = zip(certificates, chain).first { pin.matches(der: $0.1) }?.0 ?? leaf
            return TLSProblem(
                .untrustedIssuer,
                "the pinned certificate (\(pinned.subject)) does not anchor the hub's chain: pin the hub's self-signed certificate or a CA certificate of its chain"
            )
        }
        let remedy: String
        switch trust.roots {
        case .caFile(let path, let roots):
            let known = roots.compactMap { try? Certificate(derEncoded: $0) }
            if known.contains(where: { $0.subject == top.issuer }) || roots.contains(where: chain.contains) { return nil }
            remedy = "not in \(path); pass the hub's CA certificate with --hub-ca FILE"
        case .system:
            remedy = "not in this host's trust store; pass its certificate with --hub-ca FILE"
        }
        if leaf.issuer == leaf.subject {
            return TLSProblem(
                .untrustedIssuer,
                "the hub's certificate (\(leaf.subject)) is self-signed and \(remedy), or pin it with --hub-cert-sha256")
        }
        return TLSProblem(
            .untrustedIssuer,
            "the hub's certificate (\(leaf.subject)) is signed by \(top.issuer), a CA this client does not trust: \(remedy)")
    }

    /// RFC 6125 matching: a DNS name (one leading `*.` label allowed), or an IP address by value.
    private static func matches(_ name: GeneralName, host: String) -> Bool {
        let host = unbracketed(host).lowercased()
        switch name {
        case .dnsName(let pattern):
            var pattern = pattern.lowercased()
            var target = host
            if pattern.hasSuffix(".") { pattern.removeLast() }
            if target.hasSuffix(".") { target.removeLast() }
            guard addressBytes(target) == nil else { return false }
            if pattern.hasPrefix("*.") {
                guard let dot = target.firstIndex(of: ".") else { return false }
                return target[dot...] == pattern.dropFirst()
            }
            return pattern == target
        case .ipAddress(let octets):
            return addressBytes(host) == Array(octets.bytes)
        default:
            return false
        }
    }

    private static func text(_ name: GeneralName) -> String {
        switch name {
        case .dnsName(let dns): "DNS:\(dns)"
        case .ipAddress(let octets): "IP:\(addressText(Array(octets.bytes)))"
        default: "\(name)"
        }
    }

    private static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    private static func addressBytes(_ text: String) -> [UInt8]? {
        // Plain byte buffers: `in_addr()` is ambiguous between Glibc and NIO's C shims.
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return v6 }
        return nil
    }

    private static func addressText(_ bytes: [UInt8]) -> String {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard bytes.count == 4 || bytes.count == 16,
            bytes.withUnsafeBytes({ inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }) != nil
        else { return bytes.map(String.init).joined(separator: ".") }
        return String(cString: buffer)
    }

    /// `2026-12-01 08:00 UTC`.
    private static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}
