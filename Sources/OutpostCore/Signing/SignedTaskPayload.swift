/// The statement a user signs to let one task run: its content, a validity window and
/// a nonce. Serialized as RFC 8785 canonical JSON (`CanonicalJSON`); an agent accepts
/// only a payload whose bytes are exactly that serialization, so no two parsers can
/// read one signed document differently.
///
/// ```json
/// {"env":{"PGDATABASE":"app"},"expires":1765112400,"integration":"postgres",
///  "nonce":"4Jd0…","not_before":1765111800,"script_sha256":"9f86…",
///  "secrets":[{"mapping":{"PGPASSWORD":"password"},"path":"db/prod","provider":"vault"}],
///  "tags":["prod"],"target":"orders-db","task_id":"tsk_…","timeout_seconds":600}
/// ```
package struct SignedTaskPayload: Sendable, Equatable {
    /// The DSSE payload type of a signed task; an envelope of any other type is refused.
    package static let payloadType = "application/vnd.outpost.task.v1+json"
    /// Longest validity window accepted: an agent keeps every nonce until its task's
    /// signature expires, so the window bounds what it must remember.
    package static let maxValiditySeconds: Int64 = 86_400

    package var content: SignedTaskContent
    /// Unix seconds before which the signature is not valid.
    package var notBefore: Int64
    /// Unix seconds from which the signature is no longer valid.
    package var expires: Int64
    /// Random, unique per signature (base64url of at least 16 bytes): an agent runs a
    /// nonce once.
    package var nonce: String

    package init(content: SignedTaskContent, notBefore: Int64, expires: Int64, nonce: String) {
        self.content = content
        self.notBefore = notBefore
        self.expires = expires
        self.nonce = nonce
    }

    /// The canonical bytes that go into the envelope.
    package func canonicalBytes() throws(CanonicalJSON.Unsupported) -> [UInt8] {
        try CanonicalJSON.encode(jsonValue)
    }

    /// Reads a payload from the envelope.
    /// - Throws: a sentence naming what was wrong (not JSON, an unknown or missing
    ///   field, not canonical). Never quotes values.
    package init(canonical bytes: [UInt8]) throws(PayloadError) {
        let wire: Wire
        do {
            wire = try WireJSON.decodeRequest(Wire.self, from: bytes)
        } catch {
            throw PayloadError(description: "the signed payload is not a task payload: \(error.message)")
        }
        self.init(
            content: SignedTaskContent(
                taskID: wire.task_id, target: wire.target, integration: wire.integration,
                scriptSHA256: wire.script_sha256, env: wire.env,
                secrets: wire.secrets.map { SecretReference(provider: $0.provider, path: $0.path, mapping: $0.mapping) },
                tags: wire.tags,
                timeoutSeconds: wire.timeout_seconds),
            notBefore: wire.not_before, expires: wire.expires, nonce: wire.nonce)
        guard (try? canonicalBytes()) == bytes else {
            throw PayloadError(
                description: "the signed payload is not in canonical form (RFC 8785): sorted keys, no spaces, "
                    + "sorted tags")
        }
    }

    package struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
        package var description: String
    }

    private var jsonValue: JSONValue {
        let content = self.content
        return .object([
            ("task_id", .string(content.taskID)),
            ("target", .string(content.target)),
            ("integration", .string(content.integration)),
            ("script_sha256", .string(content.scriptSHA256)),
            ("env", .object(content.env.map { ($0.key, .string($0.value)) })),
            (
                "secrets",
                .array(
                    content.secrets.map { reference in
                        .object([
                            ("provider", .string(reference.provider)),
                            ("path", .string(reference.path)),
                            ("mapping", .object(reference.mapping.map { ($0.key, .string($0.value)) })),
                        ])
                    })
            ),
            ("tags", .array(content.tags.map { .string($0) })),
            ("timeout_seconds", .number(String(content.timeoutSeconds))),
            ("not_before", .number(String(notBefore))),
            ("expires", .number(String(expires))),
            ("nonce", .string(nonce)),
        ])
    }

    /// The payload as the strict decoder reads it: every field required, none unknown.
    private struct Wire: Decodable {
        var task_id: String
        var target: String
        var integration: String
        var script_sha256: String
        var env: [String: String]
        var secrets: [Reference]
        var tags: [String]
        var timeout_seconds: Int
        var not_before: Int64
        var expires: Int64
        var nonce: String
    }

    /// A secret reference whose `mapping` is required (the signer always writes it).
    private struct Reference: Decodable {
        var provider: String
        var path: String
        var mapping: [String: String]
    }
}
