import Foundation
import OutpostCore
import OutpostSigning
import OutpostTestSupport
import Testing

/// Outpost's canonical JSON, DSSE encoding and signatures agree with independent
/// implementations: PyPI's `rfc8785` and `cryptography` verify what Outpost signs, and
/// Outpost's verifier accepts what they sign (`Tests/SDKProofs/signed_task_proof.py`).
/// A client written in another language can therefore sign tasks from the documented
/// format alone.
@Suite("Signed tasks against rfc8785 and cryptography (Python)", .enabled(if: OfficialSDK.available("rfc8785")))
struct IndependentSignerTests {
    /// Strings that test escaping and member order: quotes, controls, non-ASCII, astral characters.
    static let target = Target(
        name: "orders-db", integration: "postgres", tags: TagSet(["prod", "eu-west"]),
        env: ["GREETING": "grüße \"quoted\" 😀 line\nbreak\t\u{7}", "ÉTÉ": "\u{20AC}", "Z": "", "a": "\\"],
        secrets: [
            SecretReference(provider: "vault", path: "db/orders", mapping: ["PGPASSWORD": "password", "PGUSER": "user"]),
            SecretReference(provider: "aws", path: "arn:aws:secretsmanager:eu-west-1:1:secret:x", mapping: [:]),
        ])
    static let script = "select 'ünïcødé';\n"
    static let content = SignedTaskContent(
        taskID: "tsk_interop00000000000001", target: target, scriptSHA256: TaskSigner.scriptDigest(script),
        timeoutSeconds: 900)

    @Test("what Outpost signs (Ed25519 and ES256), Python verifies")
    func pythonVerifies() async throws {
        for algorithm in TaskKeyAlgorithm.allCases {
            let key = TaskSigningKey.generate(algorithm, kid: "outpost-\(algorithm.flagName)")
            let envelope = try TaskSigner(key: key).sign(Self.content, now: Date())
            let envelopeJSON = String(decoding: try JSONEncoder().encode(envelope), as: UTF8.self)
            let jwks = String(decoding: TaskVerificationKeySet(keys: [key.publicKey]).json(), as: UTF8.self)
            let outcome = try await OfficialSDK.run("signed_task_proof.py", arguments: ["verify", envelopeJSON, jwks])
            #expect(outcome.succeeded, "\(algorithm): \(outcome)")
            #expect(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Self.content.taskID)
        }
    }

    @Test("what Python signs (Ed25519 and ES256), Outpost's verifier accepts, and refuses once changed")
    func outpostVerifies() async throws {
        let content: [String: Any] = [
            "task_id": Self.content.taskID, "target": Self.content.target, "integration": Self.content.integration,
            "script_sha256": Self.content.scriptSHA256, "env": Self.content.env,
            "secrets": Self.content.secrets.map { ["provider": $0.provider, "path": $0.path, "mapping": $0.mapping] },
            "tags": Self.content.tags, "timeout_seconds": Self.content.timeoutSeconds,
        ]
        let contentJSON = String(decoding: try JSONSerialization.data(withJSONObject: content), as: UTF8.self)
        for algorithm in ["ed25519", "es256"] {
            let outcome = try await OfficialSDK.run("signed_task_proof.py", arguments: ["sign", contentJSON, algorithm])
            #expect(outcome.succeeded, "\(outcome)")
            struct Signed: Decodable {
                var envelope: SignedTaskEnvelope
            }
            let output = Data(outcome.stdout.utf8)
            let signed = try JSONDecoder().decode(Signed.self, from: output)
            let jwks = try #require(
                (try JSONSerialization.jsonObject(with: output) as? [String: Any])?["jwks"].map {
                    try JSONSerialization.data(withJSONObject: $0)
                })
            let verifier = TaskSignatureVerifier(keys: try TaskVerificationKeySet(json: [UInt8](jwks)))
            let verified = try verifier.verify(signed.envelope, expected: Self.content, now: Date()).get()
            #expect(verified.kid == "python-\(algorithm)")
            var changed = Self.content
            changed.env["Z"] = "changed"
            guard case .failure(let refusal) = verifier.verify(signed.envelope, expected: changed, now: Date()) else {
                Issue.record("a changed task verified")
                continue
            }
            #expect(refusal.reason == .changed([.env]))
        }
    }
}
