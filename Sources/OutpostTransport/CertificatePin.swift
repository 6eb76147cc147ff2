import Crypto

/// The SHA-256 of one certificate's DER bytes, as `--hub-cert-sha256` takes it.
///
/// Written as `openssl x509 -noout -fingerprint -sha256` prints it
/// (`AB:CD:...`) or as plain hex; colons, spaces and case do not matter.
package struct CertificatePin: Sendable, Equatable, CustomStringConvertible {
    /// The 32 bytes of the digest.
    package let digest: [UInt8]

    /// - Throws: `HubTrustError` with code `.invalidPin` when the text is not 64 hex digits.
    package init(_ text: String) throws(HubTrustError) {
        let hex = text.filter { $0 != ":" && !$0.isWhitespace }
        guard hex.count == 64 else {
            throw HubTrustError(
                .invalidPin,
                "the certificate pin must be a SHA-256 fingerprint: 64 hex digits, colons allowed (`openssl x509 -noout -fingerprint -sha256 -in hub.crt` prints it); got \(hex.count) digits"
            )
        }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else {
                throw HubTrustError(.invalidPin, "the certificate pin holds a character that is not a hex digit")
            }
            bytes.append(byte)
            index = next
        }
        digest = bytes
    }

    /// Whether `der` is the certificate this pin names.
    package func matches(der: [UInt8]) -> Bool {
        Array(SHA256.hash(data: der)) == digest
    }

    /// The SHA-256 of `der` as lowercase hex, for messages that name a certificate.
    package static func fingerprint(of der: [UInt8]) -> String {
        hex(Array(SHA256.hash(data: der)))
    }

    /// Lowercase hex.
    package var description: String { Self.hex(digest) }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
