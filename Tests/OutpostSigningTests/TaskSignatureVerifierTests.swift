import Crypto
import Foundation
import OutpostCore
import OutpostSigning
import Testing

/// Every way a signed task is refused, decided without I/O, and the one way it is accepted.
@Suite("Task signature verification")
struct TaskSignatureVerifierTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let alice = TaskSigningKey.generate(.ed25519, kid: "alice")
    static let bob = TaskSigningKey.generate(.es256, kid: "bob")

    static let target = Target(
        name: "orders-db", integration: "postgres", tags: TagSet(["prod", "eu"]), env: ["PGDATABASE": "orders"],
        secrets: [SecretReference(provider: "vault", path: "db/orders", mapping: ["PGPASSWORD": "password"])])
    static let script = "select count(*) from orders;"
    static let assignment = TaskAssignment(
        taskID: "tsk_0123456789abcdefghjk", target: target, script: script, timeoutSeconds: 600)

    static func content(of assignment: TaskAssignment = assignment) -> SignedTaskContent {
        SignedTaskContent(assignment: assignment, scriptSHA256: TaskSigner.scriptDigest(assignment.script))
    }

    static func signed(by key: TaskSigningKey = alice, at time: Date = now, validity: Duration = .seconds(600)) throws
        -> SignedTaskEnvelope
    {
        try TaskSigner(key: key).sign(content(), now: time, validity: validity)
    }

    static func verifier(_ keys: [TaskVerificationKey] = [alice.publicKey, bob.publicKey]) -> TaskSignatureVerifier {
        TaskSignatureVerifier(keys: TaskVerificationKeySet(keys: keys), leeway: 30)
    }

    private func rejection(_ envelope: SignedTaskEnvelope?, expected: SignedTaskContent = content(),
        verifier: TaskSignatureVerifier = verifier(), at time: Date = now) -> TaskSignatureRejection?
    {
        if case .failure(let rejection) = verifier.verify(envelope, expected: expected, now: time) { return rejection }
        return nil
    }

    @Test("Ed25519 and ES256 signatures verify and name their key; two trusted keys (rotation) both work")
    func accepted() throws {
        for key in [Self.alice, Self.bob] {
            let result = Self.verifier().verify(try Self.signed(by: key), expected: Self.content(), now: Self.now)
            let verified = try result.get()
            #expect(verified.kid == key.kid)
            #expect(verified.expires == Self.now.addingTimeInterval(600))
        }
    }

    @Test("a task without a signature is refused")
    func missing() {
        #expect(rejection(nil)?.reason == .missing)
    }

    @Test("each changed field is refused by name")
    func changedFields() throws {
        let envelope = try Self.signed()
        var cases: [(SignedTaskContent.Field, (inout TaskAssignment) -> Void)] = []
        cases.append((.taskID, { $0.taskID = "tsk_zzzzzzzzzzzzzzzzzzzz" }))
        cases.append((.target, { $0.target.name = "orders-db-2" }))
        cases.append((.integration, { $0.target.integration = "bash" }))
        cases.append((.script, { $0.script += " drop table orders;" }))
        cases.append((.env, { $0.target.env["PGHOST"] = "evil.example" }))
        cases.append((.secrets, { $0.target.secrets[0].mapping["PGPASSWORD"] = "admin-password" }))
        cases.append((.secrets, { $0.target.secrets[0].path = "db/other" }))
        cases.append((.tags, { $0.target.tags = TagSet(["prod"]) }))
        cases.append((.timeout, { $0.timeoutSeconds = 86_400 }))
        for (field, change) in cases {
            var assignment = Self.assignment
            change(&assignment)
            let refused = rejection(envelope, expected: Self.content(of: assignment))
            #expect(refused?.reason == .changed([field]), "\(field)")
            #expect(refused?.message.contains(field.phrase) == true, "\(refused?.message ?? "")")
        }
        var both = Self.assignment
        both.script = "rm -rf /"
        both.timeoutSeconds = 1
        #expect(rejection(envelope, expected: Self.content(of: both))?.message
            == "the task differs from what was signed: the script and the timeout were changed")
    }

    @Test("expired, not yet valid, and windows longer than a day are refused; the leeway is honoured")
    func window() throws {
        let envelope = try Self.signed()
        #expect(rejection(envelope, at: Self.now.addingTimeInterval(600 + 31))?.reason == .expired)
        #expect(rejection(envelope, at: Self.now.addingTimeInterval(600 + 29)) == nil)
        // Signed by a clock ahead of the agent's (not_before is backdated 60 s, plus 30 s leeway).
        #expect(rejection(envelope, at: Self.now.addingTimeInterval(-91))?.reason == .notYetValid)
        #expect(rejection(envelope, at: Self.now.addingTimeInterval(-89)) == nil)
        #expect(throws: SigningKeyError.self) { try Self.signed(validity: .seconds(86_400)) }
        let long = try forged(notBefore: 1_800_000_000 - 10, expires: 1_800_000_000 + 90_000)
        #expect(rejection(long)?.reason == .validityTooLong)
    }

    @Test("an unknown key id, and a trusted id whose key did not make the signature, are refused")
    func keys() throws {
        let mallory = TaskSigningKey.generate(.ed25519, kid: "mallory")
        let unknown = rejection(try Self.signed(by: mallory))
        #expect(unknown?.reason == .unknownKey)
        #expect(unknown?.message.contains(#"it trusts "alice", "bob""#) == true)
        // Mallory's key claiming alice's id.
        let impostor = TaskSigningKey.generate(.ed25519, kid: "alice")
        #expect(rejection(try Self.signed(by: impostor))?.reason == .badSignature)
        // The wrong algorithm: an ES256 signature under an id whose trusted key is Ed25519.
        let wrongAlgorithm = TaskSigningKey.generate(.es256, kid: "alice")
        #expect(rejection(try Self.signed(by: wrongAlgorithm))?.reason == .badSignature)
        // Rotation: once alice is removed from the key set, her signatures are refused.
        #expect(rejection(try Self.signed(by: Self.alice), verifier: Self.verifier([Self.bob.publicKey]))?.reason == .unknownKey)
    }

    @Test("a truncated, extended or altered signature is refused")
    func tampered() throws {
        let envelope = try Self.signed()
        let signature = try #require(SignedTaskEnvelope.decodeBase64(envelope.signatures[0].sig))
        for bytes in [Array(signature.prefix(63)), Array(signature.prefix(32)), [], signature + [0], flipped(signature, at: 10)] {
            var changed = envelope
            changed.signatures[0].sig = Data(bytes).base64EncodedString()
            #expect(rejection(changed)?.reason == .badSignature, "\(bytes.count) bytes")
        }
        var notBase64 = envelope
        notBase64.signatures[0].sig = "%%%"
        #expect(rejection(notBase64)?.reason == .badSignature)
    }

    @Test("payload-type confusion: another type, or the payload signed without its type (no PAE), is refused")
    func payloadType() throws {
        var retyped = try Self.signed()
        retyped.payloadType = "application/vnd.in-toto+json"
        #expect(rejection(retyped)?.reason == .wrongPayloadType)
        // A signature over the bare payload bytes (what cosign verified before CVE-2022-35929).
        let envelope = try Self.signed()
        let payload = try #require(envelope.payloadBytes)
        var bare = envelope
        bare.signatures[0].sig = Data(try Self.alice.sign(payload)).base64EncodedString()
        #expect(rejection(bare)?.reason == .badSignature)
        // A signature made for another payload type, moved onto a task envelope.
        let other = SignedTaskEnvelope.preAuthenticationEncoding(payloadType: "application/json", payload: payload)
        var moved = envelope
        moved.signatures[0].sig = Data(try Self.alice.sign(other)).base64EncodedString()
        #expect(rejection(moved)?.reason == .badSignature)
    }

    @Test("a payload that is not canonical JSON is refused even when its signature verifies")
    func nonCanonical() throws {
        let envelope = try Self.signed()
        let payload = try #require(envelope.payloadBytes)
        let spaced = Array(String(decoding: payload, as: UTF8.self).replacingOccurrences(of: ",", with: ", ").utf8)
        let signature = try Self.alice.sign(
            SignedTaskEnvelope.preAuthenticationEncoding(payloadType: SignedTaskPayload.payloadType, payload: spaced))
        let refused = rejection(SignedTaskEnvelope.make(payload: spaced, keyID: "alice", signature: signature))
        #expect(refused?.reason == .malformed)
        #expect(refused?.message.contains("canonical") == true)
    }

    @Test("a key limited by allowed_targets or allowed_tags signs only for those")
    func allowances() throws {
        var limited = Self.alice.publicKey
        limited.allowedTargets = [try TagPattern("staging-*")]
        #expect(rejection(try Self.signed(), verifier: Self.verifier([limited]))?.reason == .keyNotAllowed)
        limited.allowedTargets = [try TagPattern("orders-*")]
        #expect(rejection(try Self.signed(), verifier: Self.verifier([limited])) == nil)
        limited.allowedTags = [try TagPattern("prod")]
        let refused = rejection(try Self.signed(), verifier: Self.verifier([limited]))
        #expect(refused?.reason == .keyNotAllowed)
        #expect(refused?.message.contains(#"tagged "eu""#) == true)
        limited.allowedTags = [try TagPattern("prod"), try TagPattern("e*")]
        #expect(rejection(try Self.signed(), verifier: Self.verifier([limited])) == nil)
    }

    @Test("the key set: generated keys round-trip through the JWKS; unusable keys are skipped with the reason")
    func keySet() throws {
        var limited = Self.bob.publicKey
        limited.allowedTags = [try TagPattern("prod"), try TagPattern("eu")]
        let written = TaskVerificationKeySet(keys: [Self.alice.publicKey, limited]).json()
        let read = try TaskVerificationKeySet(json: written)
        #expect(read.keyIDs == ["alice", "bob"])
        #expect(read.keys["bob"]?.allowedTags == [try TagPattern("prod"), try TagPattern("eu")])
        #expect(try Self.verifier(Array(read.keys.values)).verify(try Self.signed(by: Self.bob), expected: Self.content(), now: Self.now).get().kid == "bob")

        let mixed = #"""
            {"keys": [
              {"kid": "rsa", "kty": "RSA", "n": "AQAB", "e": "AQAB"},
              {"kid": "hmac", "kty": "oct", "k": "c2VjcmV0"},
              {"kid": "confused", "kty": "OKP", "crv": "Ed25519", "alg": "ES256", "x": "\#(xOf(Self.alice))"},
              {"kid": "enc", "kty": "OKP", "crv": "Ed25519", "use": "enc", "x": "\#(xOf(Self.alice))"},
              {"kid": "good", "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": "\#(xOf(Self.alice))"}
            ]}
            """#
        let set = try TaskVerificationKeySet(json: Array(mixed.utf8))
        #expect(set.keyIDs == ["good"])
        #expect(set.skipped["rsa"]?.contains("only Ed25519 (OKP) and P-256 (EC) keys sign tasks") == true)
        #expect(set.skipped["hmac"] != nil)
        #expect(set.skipped["confused"]?.contains("does not fit") == true)
        #expect(set.skipped["enc"]?.contains("not for signatures") == true)
        var signedAsConfused = try Self.signed()
        signedAsConfused.signatures[0].keyid = "confused"
        let refused = rejection(signedAsConfused, verifier: TaskSignatureVerifier(keys: set))
        #expect(refused?.reason == .unknownKey)
        #expect(refused?.message.contains("unusable") == true)
        #expect(throws: KeySetError.self) { try TaskVerificationKeySet(json: Array(#"{"keys": 3}"#.utf8)) }
        #expect(throws: KeySetError.self) { try TaskVerificationKeySet(json: Array("not json".utf8)) }
    }

    @Test("key files: the PEM round-trips with its key id; a file without the id line gets the thumbprint")
    func keyFiles() throws {
        for key in [Self.alice, Self.bob] {
            let read = try TaskSigningKey(pemFile: key.pemFile)
            #expect(read.kid == key.kid)
            #expect(read.algorithm == key.algorithm)
            #expect(read.publicKey.thumbprint == key.publicKey.thumbprint)
        }
        let bare = Self.alice.pemFile.split(separator: "\n").dropFirst().joined(separator: "\n")
        #expect(try TaskSigningKey(pemFile: bare).kid == Self.alice.publicKey.thumbprint)
        #expect(throws: SigningKeyError.self) { try TaskSigningKey(pemFile: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----") }
        #expect(throws: SigningKeyError.self) { try TaskSigningKey(pemFile: "") }
    }

    @Test("RFC 7638 thumbprint: the RFC 8037 Ed25519 example key")
    func thumbprint() throws {
        // RFC 8037 Appendix A.3: the thumbprint of the A.2 public key.
        let x = try #require(Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
        let key = TaskVerificationKey(kid: "a", material: .ed25519(try .init(rawRepresentation: x)))
        #expect(key.thumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    }

    /// An envelope signed by alice whose payload has the given window (the signer refuses to make one).
    private func forged(notBefore: Int64, expires: Int64) throws -> SignedTaskEnvelope {
        let payload = try SignedTaskPayload(
            content: Self.content(), notBefore: notBefore, expires: expires, nonce: "AAAAAAAAAAAAAAAAAAAAAA"
        ).canonicalBytes()
        let signature = try Self.alice.sign(
            SignedTaskEnvelope.preAuthenticationEncoding(payloadType: SignedTaskPayload.payloadType, payload: payload))
        return SignedTaskEnvelope.make(payload: payload, keyID: "alice", signature: signature)
    }

    private func flipped(_ bytes: [UInt8], at index: Int) -> [UInt8] {
        var copy = bytes
        copy[index] ^= 0x01
        return copy
    }

    private func xOf(_ key: TaskSigningKey) -> String {
        for member in key.publicKey.publicMembers where member.key == "x" {
            if case .string(let x) = member.value { return x }
        }
        return ""
    }
}
