package import Crypto
import Foundation
package import OutpostCore
import _CryptoExtras

/// A private key that signs tasks, with the key id its signatures name.
///
/// On disk it is a PKCS#8 PEM file (`openssl pkey` reads it) whose first line,
/// before the PEM block, names the key id: `Outpost-Key-Id: KID`. Text outside the
/// PEM block is ignored by PEM readers (RFC 7468 §2). Without that line, the key id
/// is the key's RFC 7638 thumbprint, as `outpost keys generate` would have made it.
package struct TaskSigningKey: Sendable {
    package enum Material: Sendable {
        case ed25519(Curve25519.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
    }

    package var kid: String
    package var material: Material

    package init(kid: String, material: Material) {
        self.kid = kid
        self.material = material
    }

    /// A new random key; `kid` defaults to the public key's thumbprint.
    package static func generate(_ algorithm: TaskKeyAlgorithm, kid: String? = nil) -> TaskSigningKey {
        let material: Material =
            switch algorithm {
            case .ed25519: .ed25519(Curve25519.Signing.PrivateKey())
            case .es256: .p256(P256.Signing.PrivateKey())
            }
        var key = TaskSigningKey(kid: "", material: material)
        key.kid = kid ?? key.publicKey.thumbprint
        return key
    }

    package var algorithm: TaskKeyAlgorithm {
        switch material {
        case .ed25519: .ed25519
        case .p256: .es256
        }
    }

    /// The verification key agents trust for it (no allowances: the operator adds them).
    package var publicKey: TaskVerificationKey {
        switch material {
        case .ed25519(let key): TaskVerificationKey(kid: kid, material: .ed25519(key.publicKey))
        case .p256(let key): TaskVerificationKey(kid: kid, material: .p256(key.publicKey))
        }
    }

    /// The signature of `message`: 64 bytes (Ed25519, or ES256's r‖s).
    package func sign(_ message: [UInt8]) throws -> [UInt8] {
        switch material {
        case .ed25519(let key): Array(try key.signature(for: message))
        case .p256(let key): Array(try key.signature(for: message).rawRepresentation)
        }
    }

    /// The key file's text.
    package var pemFile: String {
        let pem =
            switch material {
            case .ed25519(let key): key.pemRepresentation
            case .p256(let key): key.pemRepresentation
            }
        return "\(Self.keyIDLabel) \(kid)\n\(pem)\n"
    }

    /// Reads a key file.
    /// - Throws: `SigningKeyError` saying what the file holds instead of a usable key
    ///   (never quoting key material).
    package init(pemFile text: String) throws(SigningKeyError) {
        var kid: String?
        var pemLines: [String] = []
        var inBlock = false
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-----BEGIN ") { inBlock = true }
            if inBlock {
                pemLines.append(trimmed)
            } else if trimmed.hasPrefix(Self.keyIDLabel) {
                kid = String(trimmed.dropFirst(Self.keyIDLabel.count)).trimmingCharacters(in: .whitespaces)
            }
            if trimmed.hasPrefix("-----END ") { inBlock = false }
        }
        let pem = pemLines.joined(separator: "\n")
        guard pem.hasPrefix("-----BEGIN PRIVATE KEY-----") || pem.hasPrefix("-----BEGIN EC PRIVATE KEY-----") else {
            throw SigningKeyError(
                "it holds no PEM private key (\"-----BEGIN PRIVATE KEY-----\"); make one with `outpost keys generate`")
        }
        let material: Material
        if let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) {
            material = .ed25519(key)
        } else if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
            material = .p256(key)
        } else {
            throw SigningKeyError("its private key is neither Ed25519 nor P-256 (ES256), the two kinds that sign tasks")
        }
        if let kid, kid.isEmpty || kid.utf8.count > 256 || kid.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value > 0x7E }) {
            throw SigningKeyError("its \(Self.keyIDLabel) line must name a key id of 1 to 256 printable characters")
        }
        var key = TaskSigningKey(kid: kid ?? "", material: material)
        if kid == nil { key.kid = key.publicKey.thumbprint }
        self = key
    }

    static let keyIDLabel = "Outpost-Key-Id:"
}

/// Why a signing key file could not be used.
package struct SigningKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    package var cause: String
    package init(_ cause: String) { self.cause = cause }
    package var description: String { cause }
}
