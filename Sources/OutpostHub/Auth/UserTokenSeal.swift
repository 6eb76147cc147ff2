import Crypto
import Foundation
import OutpostCore

/// Seals user session tokens so several hub replicas can hand them to one another
/// through the shared database without the database ever holding one.
///
/// AES-256-GCM under the cluster key, a file every replica has and the database
/// never sees (`cluster_key_file`). The task's id is the associated data: a sealed
/// token opens only for the task it was sealed for, so a database writer cannot
/// move a token to a task of their own. What the store keeps is
/// `v1.` + base64(nonce | ciphertext | tag); it is deleted when the agent starts
/// the task (or the task ends first).
package struct UserTokenSeal: Sendable {
    private let key: SymmetricKey

    /// The key file holds 32 random bytes, base64 (`openssl rand -base64 32`).
    static let keyBytes = 32

    init(key: SymmetricKey) {
        self.key = key
    }

    /// Reads the key file.
    /// - Throws: `HubError(.startup)` naming the file and what is wrong with it, never its contents.
    package init(keyFile: String) throws(HubError) {
        let text: String
        do {
            text = try String(contentsOfFile: keyFile, encoding: .utf8)
        } catch {
            throw HubError(.startup, "cannot read the cluster key file \(keyFile): \(error.localizedDescription)")
        }
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            bytes.count == Self.keyBytes
        else {
            throw HubError(
                .startup,
                "the cluster key file \(keyFile) must hold \(Self.keyBytes) random bytes in base64 (make one with: openssl rand -base64 32)")
        }
        self.init(key: SymmetricKey(data: bytes))
    }

    func seal(_ token: String, taskID: String) throws -> String {
        let box = try AES.GCM.seal(Data(token.utf8), using: key, authenticating: Data(taskID.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return "v1." + combined.base64EncodedString()
    }

    /// The token, or `nil` when the blob was not sealed for this task under this key
    /// (another key: a replica with a different cluster key file).
    func open(_ sealed: String, taskID: String) -> String? {
        guard sealed.hasPrefix("v1."), let combined = Data(base64Encoded: String(sealed.dropFirst(3))),
            let box = try? AES.GCM.SealedBox(combined: combined),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Data(taskID.utf8))
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
