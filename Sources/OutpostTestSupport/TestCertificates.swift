package import Crypto
package import Foundation
import SwiftASN1
package import X509

/// A certificate authority made in a test, and the certificates it issues:
/// P-256 keys, PEM files, any validity window (expired ones too).
package struct TestCertificateAuthority: Sendable {
    package let name: String
    package let key: P256.Signing.PrivateKey
    package let certificate: Certificate

    /// A self-signed CA valid from an hour ago for `days`.
    package init(name: String = "Outpost Test CA", days: Int = 30) throws {
        self.name = name
        key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + Double(days) * 86_400,
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
    }

    package var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }

    /// Writes the CA's private key (PEM, mode 0600) to `DIRECTORY/NAME` and returns the path.
    package func writeKey(to directory: URL, name: String = "ca.key") throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(key.pemRepresentation.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        return url.path
    }

    /// The CA's subject, as the hub's API prints distinguished names.
    package var subject: String { certificate.subject.description }

    /// The CA certificate's DER bytes (what a pin hashes).
    package var certificateDER: [UInt8] { get throws { try certificate.serializeAsPEM().derBytes } }

    /// A leaf certificate for `dnsNames` and `ipAddresses` (IPv4 or IPv6 text),
    /// usable by servers and clients, valid from `notBefore` to `notAfter`.
    package func issue(
        commonName: String = "localhost", dnsNames: [String] = ["localhost"], ipAddresses: [String] = ["127.0.0.1"],
        notBefore: Date = Date() - 3600, notAfter: Date = Date() + 86_400
    ) throws -> TestCredential {
        let leafKey = P256.Signing.PrivateKey()
        let names = dnsNames.map { GeneralName.dnsName($0) }
            + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: Self.addressBytes($0)[...])) }
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(leafKey.publicKey),
            notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: certificate.subject, subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(key))
        return TestCredential(
            certificatePEM: try leaf.serializeAsPEM().pemString, privateKeyPEM: leafKey.pemRepresentation,
            certificate: leaf)
    }

    /// Signs a PEM certificate signing request as an agent's client certificate: its key
    /// and subject, `uri` as URI SAN, client authentication only, valid for `lifetime`
    /// from now. Returns the certificate as PEM.
    /// - Throws: when the CSR is not PEM or its signature does not verify.
    package func sign(csrPEM: String, uri: String, lifetime: TimeInterval = 86_400) throws -> String {
        let request = try CertificateSigningRequest(pemEncoded: csrPEM)
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw TestCertificateError(message: "the CSR's signature does not verify")
        }
        let now = Date()
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: request.publicKey,
            notValidBefore: now - 60, notValidAfter: now + lifetime,
            issuer: certificate.subject, subject: request.subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(uri)])
            },
            issuerPrivateKey: .init(key))
        return try leaf.serializeAsPEM().pemString
    }

    /// Writes the CA certificate to `DIRECTORY/NAME` and returns the path.
    package func writeCertificate(to directory: URL, name: String = "ca.pem") throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(try certificatePEM.utf8).write(to: url)
        return url.path
    }

    private static func addressBytes(_ text: String) -> [UInt8] {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        precondition(inet_pton(AF_INET6, text, &v6) == 1, "not an IP address: \(text)")
        return withUnsafeBytes(of: &v6) { Array($0) }
    }
}

/// An agent's key pair made in a test, and the CSRs an Outpost agent sends.
package struct TestAgentKey: Sendable {
    package let key = P256.Signing.PrivateKey()

    package init() {}

    package var privateKeyPEM: String { key.pemRepresentation }

    /// A PEM certificate signing request for this key.
    package func csrPEM(commonName: String = "test-agent") throws -> String {
        try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(commonName) }, privateKey: .init(key),
            attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256
        ).serializeAsPEM().pemString
    }
}

/// A certificate and its private key, as PEM.
package struct TestCredential: Sendable {
    package let certificatePEM: String
    package let privateKeyPEM: String
    package let certificate: Certificate

    /// Writes `NAME.crt` and `NAME.key` (mode 0600) into `directory`; returns their paths.
    @discardableResult
    package func write(to directory: URL, name: String = "server") throws -> (certificate: String, key: String) {
        let certificateURL = directory.appendingPathComponent("\(name).crt")
        let keyURL = directory.appendingPathComponent("\(name).key")
        try Data(certificatePEM.utf8).write(to: certificateURL)
        try Data(privateKeyPEM.utf8).write(to: keyURL)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyURL.path)
        return (certificateURL.path, keyURL.path)
    }

    /// The certificate's DER bytes.
    package var certificateDER: [UInt8] { get throws { try certificate.serializeAsPEM().derBytes } }

    /// SHA-256 of the certificate's DER, lowercase hex (what `--hub-cert-sha256` takes).
    package var sha256: String {
        get throws {
            SHA256.hash(data: try certificate.serializeAsPEM().derBytes).map { String(format: "%02x", $0) }.joined()
        }
    }
}

extension TestCertificateAuthority {
    /// A client certificate for `agentKey` with `uri` as its URI SAN, as the hub's
    /// CA would issue one (for forging tests: signed by this CA instead).
    package func issueClientCertificate(for agentKey: TestAgentKey, uri: String) throws -> String {
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(agentKey.key.publicKey),
            notValidBefore: now - 60, notValidAfter: now + 3600,
            issuer: certificate.subject, subject: try DistinguishedName { CommonName("forged") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                try ExtendedKeyUsage([.clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(uri)])
            },
            issuerPrivateKey: .init(key)
        ).serializeAsPEM().pemString
    }
}

/// What a test asks of a PEM certificate.
package struct TestCertificateInspection {
    package let certificate: Certificate

    package init(pem: String) throws { certificate = try Certificate(pemEncoded: pem) }

    /// Its URI SANs.
    package var uris: [String] {
        let names = (try? certificate.extensions.subjectAlternativeNames) ?? nil
        return (names ?? SubjectAlternativeNames()).compactMap { name in
            if case .uniformResourceIdentifier(let uri) = name { return uri }
            return nil
        }
    }

    /// The issuer's distinguished name, as the hub's API prints subjects.
    package var issuer: String { certificate.issuer.description }

    package func publicKeyMatches(_ key: TestAgentKey) throws -> Bool {
        certificate.publicKey == Certificate.PublicKey(key.key.publicKey)
    }
}

/// A test-support failure (a CSR that does not verify).
package struct TestCertificateError: Error, CustomStringConvertible {
    package let message: String
    package init(message: String) { self.message = message }
    package var description: String { message }
}
