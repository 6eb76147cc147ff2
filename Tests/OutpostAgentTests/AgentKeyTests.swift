import Crypto
import Foundation
@testable import OutpostAgent
import SwiftASN1
import Testing
import X509

/// The agent's own key in its work directory, and the CSRs made for it.
@Suite("Agent key")
struct AgentKeyTests {
    private func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agent-key-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("the key file is created with mode 0600 and the same key is used again on restart")
    func createdPrivateAndReused() throws {
        let path = try directory() + "/identity.key"
        let first = try AgentKey.loadOrCreate(path: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).contains("PRIVATE KEY"))
        let again = try AgentKey.loadOrCreate(path: path)
        #expect(again.privateKey.publicKey.rawRepresentation == first.privateKey.publicKey.rawRepresentation)
        // No temporary file is left next to it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent) == ["identity.key"])
    }

    @Test(
        "a key file that is not a P-256 PEM key is an error naming the file",
        arguments: [
            "not a key at all",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            P384.Signing.PrivateKey().pemRepresentation,
        ])
    func badKeyFile(content: String) throws {
        let path = try directory() + "/identity.key"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try AgentKey.loadOrCreate(path: path)
            Issue.record("a bad key file was accepted")
        } catch {
            #expect(error.code == .workDirectory)
            #expect(error.message.contains(path))
            #expect(error.message.contains("not a P-256 private key"))
            // The file's contents (maybe a real key of another kind) are never quoted.
            #expect(!error.message.contains("BEGIN"))
        }
        // The bad file is left for the operator to look at, not overwritten.
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self) == content)
    }

    @Test("the CSR parses back, is signed by the agent's key, and names the agent")
    func certificateSigningRequest() throws {
        let key = try AgentKey.loadOrCreate(path: try directory() + "/identity.key")
        let pem = try key.certificateSigningRequest(commonName: "build-7")
        let request = try CertificateSigningRequest(pemEncoded: pem)
        #expect(request.publicKey == Certificate.PublicKey(key.privateKey.publicKey))
        #expect(request.publicKey.isValidSignature(request.signature, for: request))
        #expect(request.subject == (try DistinguishedName { CommonName("build-7") }))
        #expect(!pem.contains("PRIVATE KEY"))
    }
}
