import _CryptoExtras
import Crypto
package import Foundation
import HTTPTypes
import Hummingbird
import SwiftASN1
import Synchronization
import X509

/// What the fake's Entra ID checks of a `client_assertion`: a JWT signed with a
/// registered certificate's key (RS256 with `x5t`, or PS256 with `x5t#S256` as MSAL
/// sends it), or a federated token from a registered issuer (AKS workload identity).
extension FakeAzureKeyVault {
    struct CheckedAssertion {
        var kind: Grant.Kind
        var id: String?
        var algorithm: String
    }

    struct Refusal: Error {
        var response: Response
    }

    func checkAssertion(_ assertion: String, clientID: String, tokenURL: String) -> Result<CheckedAssertion, Refusal> {
        func refuse(_ status: HTTPResponse.Status = .unauthorized, _ error: String = "invalid_client", _ code: Int, _ message: String)
            -> Result<CheckedAssertion, Refusal>
        {
            .failure(Refusal(response: Self.aadError(status, error, code, message)))
        }
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Self.base64URLDecode(parts[0]), let claimsData = Self.base64URLDecode(parts[1]),
            let signature = Self.base64URLDecode(parts[2]),
            let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any],
            let claims = (try? JSONSerialization.jsonObject(with: claimsData)) as? [String: Any]
        else {
            return refuse(.badRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
        }
        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        let algorithm = header["alg"] as? String ?? ""
        let now = Date().timeIntervalSince1970
        let issuer = claims["iss"] as? String ?? ""
        let subject = claims["sub"] as? String ?? ""
        let expires = (claims["exp"] as? NSNumber)?.doubleValue ?? 0
        let notBefore = (claims["nbf"] as? NSNumber)?.doubleValue
        let audiences: [String] = (claims["aud"] as? [String]) ?? [(claims["aud"] as? String)].compactMap { $0 }
        func timeRange() -> Result<CheckedAssertion, Refusal>? {
            guard expires > now, (notBefore ?? 0) <= now + 300 else {
                let iso = ISO8601DateFormatter()
                return refuse(
                    .badRequest, "invalid_client", 700024,
                    "Client assertion is not within its valid time range. "
                        + "Current time: \(iso.string(from: Date(timeIntervalSince1970: now))), "
                        + "expiry time of assertion \(iso.string(from: Date(timeIntervalSince1970: expires))).")
            }
            return nil
        }

        let federated = state.withLock { $0.federated }
        if federated.contains(where: { $0.issuer == issuer }) {
            // A federated token: signed by the issuer's key (here: the fake's own issuer key).
            guard algorithm == "RS256",
                Self.issuerKey.publicKey.isValidSignature(
                    _RSA.Signing.RSASignature(rawRepresentation: signature), for: signingInput, padding: .insecurePKCS1v1_5)
            else {
                return refuse(
                    .badRequest, "invalid_request", 50013,
                    "Assertion failed signature validation. [Reason - The key was not found.]")
            }
            if let outOfRange = timeRange() { return outOfRange }
            guard
                federated.contains(where: { credential in
                    credential.clientID == clientID && credential.issuer == issuer && credential.subject == subject
                        && audiences.contains(credential.audience)
                })
            else {
                return refuse(
                    .badRequest, "invalid_request", 70021,
                    "No matching federated identity record found for presented assertion. Assertion Issuer: '\(issuer)'. "
                        + "Assertion Subject: '\(subject)'. Assertion Audience: '\(audiences.joined(separator: ","))'.")
            }
            return .success(CheckedAssertion(kind: .federatedToken, id: claims["jti"] as? String, algorithm: algorithm))
        }

        // A certificate's assertion.
        // MSAL pads its thumbprints with '='; Entra ID takes them either way.
        let sha1 = (header["x5t"] as? String)?.replacingOccurrences(of: "=", with: "")
        let sha256 = (header["x5t#S256"] as? String)?.replacingOccurrences(of: "=", with: "")
        guard sha1 != nil || sha256 != nil else {
            return refuse(
                .badRequest, "invalid_request", 700211,
                "No matching federated identity record found for presented assertion issuer '\(issuer)'.")
        }
        let certificates = state.withLock { $0.certificates }
        guard
            let certificate = certificates.first(where: { registered in
                registered.clientID == clientID && (registered.sha1 == sha1 || registered.sha256 == sha256)
            })
        else {
            return refuse(
                .unauthorized, "invalid_client", 700027,
                "The certificate with identifier used to sign the client assertion is not registered on application. "
                    + "[Reason - The key was not found., Thumbprint of key used by client: '\(sha1 ?? sha256 ?? "")']")
        }
        let padding: _RSA.Signing.Padding
        switch algorithm {
        case "RS256": padding = .insecurePKCS1v1_5
        case "PS256": padding = .PSS
        default:
            return refuse(
                .badRequest, "invalid_request", 5002738, "Invalid JWT token. '\(algorithm)' is not a supported signature algorithm.")
        }
        guard
            certificate.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: signingInput, padding: padding)
        else {
            return refuse(
                .unauthorized, "invalid_client", 7000274, "Client assertion failed signature validation.")
        }
        guard issuer == clientID, subject == clientID else {
            return refuse(
                .unauthorized, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
        }
        guard audiences == [tokenURL] else {
            return refuse(
                .unauthorized, "invalid_client", 700212,
                "Client assertion audience claim does not match Realm issuer. Review the documentation at "
                    + "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
        }
        if let outOfRange = timeRange() { return outOfRange }
        guard let id = claims["jti"] as? String, !id.isEmpty else {
            return refuse(.badRequest, "invalid_request", 50027, "JWT token is invalid or malformed: jti is missing.")
        }
        return .success(CheckedAssertion(kind: .clientCertificate, id: id, algorithm: algorithm))
    }

    static func registration(of certificatePEM: String, clientID: String) throws -> RegisteredCertificate {
        let certificate = try Certificate(pemEncoded: certificatePEM)
        guard let publicKey = _RSA.Signing.PublicKey(certificate.publicKey) else {
            throw HarnessError("Entra ID takes RSA certificates only")
        }
        let der = try certificate.serializeAsPEM().derBytes
        return RegisteredCertificate(
            clientID: clientID, sha1: base64URL(Data(Insecure.SHA1.hash(data: der))),
            sha256: base64URL(Data(SHA256.hash(data: der))), publicKey: publicKey)
    }

    /// Base64url without padding (JWT segments).
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: Substring) -> Data? { FakeCloud.base64URLDecode(text) }

    /// An app registration's certificate credential made in a test: a self-signed RSA
    /// certificate and its key, as `az ad sp create-for-rbac --create-cert` makes one.
    package struct ClientCertificate: Sendable {
        package let certificatePEM: String
        package let privateKeyPEM: String
        /// SHA-1 of the certificate's DER, upper-case hex (as the portal shows it).
        package let thumbprint: String

        /// The certificate and its key in one PEM file (what `certificate_file` and
        /// `AZURE_CLIENT_CERTIFICATE_PATH` take).
        package var combinedPEM: String { certificatePEM + "\n" + privateKeyPEM + "\n" }

        package init(commonName: String = "outpost-agent", notAfter: Date = Date() + 86_400) throws {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let name = try DistinguishedName { CommonName(commonName) }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: Date() - 3600, notValidAfter: notAfter, issuer: name, subject: name,
                signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                },
                issuerPrivateKey: .init(key))
            let pem = try certificate.serializeAsPEM()
            certificatePEM = pem.pemString
            privateKeyPEM = key.pemRepresentation
            thumbprint = Insecure.SHA1.hash(data: pem.derBytes).map { String(format: "%02X", $0) }.joined()
        }
    }
}

extension TestCredential {
    /// SHA-1 of the certificate's DER, upper-case hex: what Service Fabric puts into
    /// `IDENTITY_SERVER_THUMBPRINT` for its identity endpoint's certificate.
    package var sha1Thumbprint: String {
        get throws { Insecure.SHA1.hash(data: try certificateDER).map { String(format: "%02X", $0) }.joined() }
    }
}
