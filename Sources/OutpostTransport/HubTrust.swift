import Foundation
package import NIOSSL

/// How a client (the agent, the CLI) decides that it talks to the real hub.
///
/// Roots: the system's trust store (the default), or only the CA certificates of a
/// PEM file (`--hub-ca`). Pin (`--hub-cert-sha256`): the SHA-256 of one certificate
/// the hub presents, its self-signed certificate or a CA certificate it sends in its
/// chain; the client then trusts that certificate as its only root, so every
/// connection is still fully verified (chain, validity, host name) against it. A pin
/// of the leaf of a chain issued by another CA cannot work: a leaf is no root.
package struct HubTrust: Sendable, Equatable {
    /// The certificates a client starts from.
    package enum Roots: Sendable, Equatable {
        /// The operating system's trust store.
        case system
        /// Only the certificates in this PEM file (path, and the certificates' DER).
        case caFile(path: String, certificates: [[UInt8]])
    }

    /// Where trust starts. Default `.system`.
    package var roots: Roots
    /// A certificate of the hub's chain to trust as the only root. Default `nil`.
    package var pin: CertificatePin?

    /// The system trust store, no pin.
    package static let system = HubTrust(roots: .system, pin: nil)

    package init(roots: Roots = .system, pin: CertificatePin? = nil) {
        self.roots = roots
        self.pin = pin
    }

    /// Trust from the flags' text: `caFile` (a PEM file, possibly several certificates)
    /// and `pinSHA256` (hex, colons and case ignored); `nil` leaves each at its default.
    /// - Throws: `HubTrustError` naming the file when it is missing, unreadable or holds
    ///   no certificate, or saying what is wrong with the pin.
    package init(caFile: String?, pinSHA256: String?) throws(HubTrustError) {
        roots = try caFile.map { path throws(HubTrustError) in try Self.loadCAFile(path) } ?? .system
        pin = try pinSHA256.map { text throws(HubTrustError) in try CertificatePin(text) }
    }

    /// Whether this is the default (system store, no pin), so the shared HTTP client will do.
    package var isDefault: Bool { self == .system }

    /// A client TLS configuration: TLS 1.2 or later, full verification (chain, validity
    /// and host name) against `pinnedRoot` when given (the pin's certificate, once found),
    /// else against `roots`.
    package func tlsConfiguration(pinnedRoot: [UInt8]? = nil) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let pinnedRoot, let certificate = try? NIOSSLCertificate(bytes: pinnedRoot, format: .der) {
            configuration.trustRoots = .certificates([certificate])
        } else if case .caFile(_, let certificates) = roots {
            configuration.trustRoots = .certificates(certificates.compactMap { try? NIOSSLCertificate(bytes: $0, format: .der) })
        } else {
            configuration.trustRoots = .default
        }
        return configuration
    }

    private static func loadCAFile(_ path: String) throws(HubTrustError) -> Roots {
        guard FileManager.default.fileExists(atPath: path) else {
            throw HubTrustError(.caFile, "the hub CA file \(path) does not exist")
        }
        guard FileManager.default.isReadableFile(atPath: path), FileManager.default.contents(atPath: path) != nil else {
            throw HubTrustError(.caFile, "cannot read the hub CA file \(path)")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw HubTrustError(.caFile, "the hub CA file \(path) is not PEM certificates: \(error)")
        }
        var ders: [[UInt8]] = []
        for certificate in certificates {
            guard let der = try? certificate.toDERBytes() else {
                throw HubTrustError(.caFile, "the hub CA file \(path) holds a certificate that cannot be read")
            }
            ders.append(der)
        }
        guard !ders.isEmpty else {
            throw HubTrustError(.caFile, "the hub CA file \(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return .caFile(path: path, certificates: ders)
    }
}
