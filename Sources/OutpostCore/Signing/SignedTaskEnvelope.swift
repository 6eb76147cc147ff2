package import Foundation

/// A signed task as it travels from the client through the hub to the agent: a DSSE
/// envelope (github.com/secure-systems-lab/dsse, v1.0).
///
/// ```json
/// {"payloadType": "application/vnd.outpost.task.v1+json",
///  "payload": "<base64 of the canonical payload>",
///  "signatures": [{"keyid": "<kid>", "sig": "<base64 signature>"}]}
/// ```
///
/// What is signed is not the payload alone but its pre-authentication encoding
/// (`preAuthenticationEncoding`), which binds the payload type: a signature made for
/// some other kind of document cannot be passed off as a task (cosign's
/// CVE-2022-35929 came from verifying a payload without its type). The hub stores the
/// envelope with the task and hands it on unchanged; it cannot check it and does not try.
package struct SignedTaskEnvelope: Codable, Sendable, Equatable {
    package struct Signature: Codable, Sendable, Equatable {
        /// The signing key's id (`kid` in the agent's verification keys).
        package var keyid: String
        /// Base64 of the signature: 64 bytes for Ed25519, r‖s (64 bytes) for ES256.
        package var sig: String

        package init(keyid: String, sig: String) {
            self.keyid = keyid
            self.sig = sig
        }
    }

    package var payloadType: String
    /// Base64 of the payload bytes.
    package var payload: String
    package var signatures: [Signature]

    package init(payloadType: String, payload: String, signatures: [Signature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// Largest envelope a hub accepts and an agent reads (a payload of the largest
    /// target with a few signatures is far below).
    package static let maxEncodedBytes = 256 * 1024
    /// Most signatures one envelope may carry.
    package static let maxSignatures = 8

    /// DSSE's PAE: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as
    /// ASCII decimal byte counts. These bytes, not the payload, are what a key signs.
    package static func preAuthenticationEncoding(payloadType: String, payload: [UInt8]) -> [UInt8] {
        let type = Array(payloadType.utf8)
        return Array("DSSEv1 \(type.count) ".utf8) + type + Array(" \(payload.count) ".utf8) + payload
    }

    /// The payload bytes, decoded from standard or URL-safe base64 (DSSE allows
    /// both); `nil` when it is neither.
    package var payloadBytes: [UInt8]? { Self.decodeBase64(payload) }

    /// Standard or URL-safe base64, padded or not (DSSE allows both alphabets).
    package static func decodeBase64(_ text: String) -> [UInt8]? {
        var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard).map { [UInt8]($0) }
    }

    /// An envelope for `payload` with one signature.
    package static func make(payload: [UInt8], keyID: String, signature: [UInt8]) -> SignedTaskEnvelope {
        SignedTaskEnvelope(
            payloadType: SignedTaskPayload.payloadType, payload: Data(payload).base64EncodedString(),
            signatures: [Signature(keyid: keyID, sig: Data(signature).base64EncodedString())])
    }
}
