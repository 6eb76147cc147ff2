import _CryptoExtras
import Crypto
import Foundation
import NIOSSL
import OutpostCore

/// An app registration's certificate credential: a PEM file holding the certificate
/// (and any chain) and its unencrypted RSA private key, as `az ad sp create-for-rbac
/// --create-cert` writes it and as `AZURE_CLIENT_CERTIFICATE_PATH` names it.
///
/// The agent proves the application's identity with a client assertion (RFC 7523)
/// signed by the key: Entra ID finds the certificate by the assertion's `x5t`.
struct AzureClientCertificate: Sendable {
    /// The RSA key that signs the assertion.
    let privateKey: _RSA.Signing.PrivateKey
    /// DER of the certificate of `privateKey`, then the file's other certificates.
    let chain: [[UInt8]]
    /// When the certificate stops being valid (seconds since 1970).
    let notValidAfter: Int

    /// Lifetime of an assertion (MSAL's is ten minutes too).
    static let assertionLifetime = 600

    /// Reads and checks the PEM file at `path`.
    /// - Throws: `.invalidConfiguration` naming the file and the problem, never its contents.
    static func load(path: String, option: String) throws(SecretError) -> AzureClientCertificate {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretError(.invalidConfiguration, "\(option) \(path) cannot be read (missing or not readable by the agent)")
        }
        return try AzureClientCertificate(pem: String(decoding: data, as: UTF8.self), describedAs: "\(option) \(path)")
    }

    init(pem: String, describedAs file: String) throws(SecretError) {
        if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || pem.contains("Proc-Type: 4,ENCRYPTED") {
            throw SecretError(
                .invalidConfiguration,
                "\(file) holds an encrypted private key; the agent needs it unencrypted "
                    + "(openssl pkey -in FILE -out KEY, then cat the certificate and KEY into one file of mode 0600)")
        }
        let keyBlocks = Self.blocks(in: pem).filter { $0.label.hasSuffix("PRIVATE KEY") }
        guard let keyBlock = keyBlocks.first else {
            throw SecretError(
                .invalidConfiguration,
                "\(file) holds no private key (-----BEGIN PRIVATE KEY-----): it must hold the certificate and its key")
        }
        guard keyBlocks.count == 1 else {
            throw SecretError(.invalidConfiguration, "\(file) holds \(keyBlocks.count) private keys; it must hold exactly one")
        }
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: keyBlock.text)
        } catch {
            throw SecretError(
                .invalidConfiguration,
                "\(file): the private key is not an RSA key of 2048 bits or more (Entra ID takes RSA certificates only)")
        }
        var certificates: [(der: [UInt8], certificate: NIOSSLCertificate)] = []
        for block in Self.blocks(in: pem) where block.label == "CERTIFICATE" {
            guard let certificate = try? NIOSSLCertificate(bytes: block.der, format: .der) else {
                throw SecretError(.invalidConfiguration, "\(file) holds a certificate that cannot be read")
            }
            certificates.append((block.der, certificate))
        }
        guard !certificates.isEmpty else {
            throw SecretError(
                .invalidConfiguration,
                "\(file) holds no certificate (-----BEGIN CERTIFICATE-----): it must hold the certificate and its key")
        }
        let publicKey = key.publicKey.derRepresentation
        guard let leafIndex = certificates.firstIndex(where: { entry in
            (try? entry.certificate.extractPublicKey().toSPKIBytes()).map { Data($0) == publicKey } ?? false
        }) else {
            throw SecretError(.invalidConfiguration, "\(file): no certificate in it belongs to its private key")
        }
        var chain = certificates.map(\.der)
        chain.insert(chain.remove(at: leafIndex), at: 0)
        privateKey = key
        self.chain = chain
        notValidAfter = Int(certificates[leafIndex].certificate.notValidAfter)
    }

    /// `x5t`: the certificate's SHA-1 thumbprint, base64url (how Entra ID finds it).
    var thumbprint: String { Base64URL.encode(Array(Insecure.SHA1.hash(data: chain[0]))) }

    /// The certificate's SHA-1 thumbprint in hex, as the Azure portal shows it.
    var thumbprintHex: String { Insecure.SHA1.hash(data: chain[0]).map { String(format: "%02X", $0) }.joined() }

    /// A client assertion for `clientID` at the token endpoint `audience`: a JWT
    /// (RS256, header `x5t`; `x5c` too with `sendChain`, for subject name/issuer
    /// authentication), `iss` = `sub` = the client id, a fresh `jti`, valid ten minutes.
    func assertion(clientID: String, audience: String, sendChain: Bool, now: Date = Date()) throws(SecretError) -> String {
        let issuedAt = Int64(now.timeIntervalSince1970)
        struct Header: Encodable {
            var alg = "RS256"
            var typ = "JWT"
            var x5t: String
            var x5c: [String]?
        }
        struct Claims: Encodable {
            var aud: String
            var iss: String
            var sub: String
            var jti: String
            var nbf: Int64
            var iat: Int64
            var exp: Int64
        }
        let header = Header(x5t: thumbprint, x5c: sendChain ? chain.map { Data($0).base64EncodedString() } : nil)
        let claims = Claims(
            aud: audience, iss: clientID, sub: clientID, jti: UUID().uuidString.lowercased(), nbf: issuedAt, iat: issuedAt,
            exp: issuedAt + Int64(Self.assertionLifetime))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let signingInput =
                Base64URL.encode(Array(try encoder.encode(header))) + "." + Base64URL.encode(Array(try encoder.encode(claims)))
            let signature = try privateKey.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
            return signingInput + "." + Base64URL.encode(Array(signature.rawRepresentation))
        } catch {
            throw SecretError(.invalidConfiguration, "the client certificate's key could not sign the token request")
        }
    }

    /// The PEM blocks of `text`: label (`CERTIFICATE`, `PRIVATE KEY`, `RSA PRIVATE KEY`),
    /// the block's text and its DER.
    static func blocks(in text: String) -> [(label: String, text: String, der: [UInt8])] {
        var result: [(String, String, [UInt8])] = []
        var rest = text[...]
        while let begin = rest.range(of: "-----BEGIN "), let labelEnd = rest[begin.upperBound...].range(of: "-----") {
            let label = String(rest[begin.upperBound..<labelEnd.lowerBound])
            guard let end = rest[labelEnd.upperBound...].range(of: "-----END \(label)-----") else { break }
            let body = rest[labelEnd.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            let der = Data(base64Encoded: String(body)).map { [UInt8]($0) } ?? []
            result.append((label, String(rest[begin.lowerBound..<end.upperBound]), der))
            rest = rest[end.upperBound...]
        }
        return result
    }
}
