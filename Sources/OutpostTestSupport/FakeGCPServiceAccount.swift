import _CryptoExtras
import Foundation

/// A Google service account for `FakeGCPSecretManager`: an email and an RSA key
/// pair made in the test. The fake checks JWT assertions with the public half;
/// `keyFileJSON` writes the private half as Google's JSON key file.
package struct FakeGCPServiceAccount: Sendable {
    package let email: String
    /// The key pair's id (`private_key_id`, the JWT's `kid`).
    package let keyID: String
    let privateKey: _RSA.Signing.PrivateKey

    /// A new account with a fresh 2048-bit key pair.
    package init(email: String = "outpost-agent@outpost-test.iam.gserviceaccount.com") throws {
        self.email = email
        keyID = (0..<40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        privateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    private init(email: String, keyID: String, privateKey: _RSA.Signing.PrivateKey) {
        self.email = email
        self.keyID = keyID
        self.privateKey = privateKey
    }

    /// The same account and key id with another key pair: what a forged or
    /// stale key file looks like to Google.
    package func withAnotherKey() throws -> FakeGCPServiceAccount {
        FakeGCPServiceAccount(email: email, keyID: keyID, privateKey: try _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    var publicKey: _RSA.Signing.PublicKey { privateKey.publicKey }

    /// The JSON key file Google issues for this account (PKCS#8 PEM private key).
    package func keyFileJSON(tokenURI: String, projectID: String? = "outpost-test") -> String {
        var object: [String: String] = [
            "type": "service_account",
            "private_key_id": keyID,
            "private_key": privateKey.pkcs8PEMRepresentation + "\n",
            "client_email": email,
            "client_id": "1\(keyID.filter(\.isNumber).prefix(20))",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": tokenURI,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com",
        ]
        if let projectID { object["project_id"] = projectID }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether `signature` is this account's RS256 (PKCS#1 v1.5, SHA-256) signature of `input`.
    func verifies(_ signature: Data, of input: String) -> Bool {
        publicKey.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature), for: Data(input.utf8), padding: .insecurePKCS1v1_5)
    }
}
