package import Crypto
package import OutpostCore

/// The public keys an agent trusts for signed tasks: a JSON Web Key Set (RFC 7517)
/// of Ed25519 (`kty: OKP`) and P-256 (`kty: EC`) keys, each with a `kid` and,
/// optionally, `allowed_targets` and `allowed_tags` (lists of globs).
///
/// A key the agent cannot use (another type, an `alg` that does not fit it, an
/// encryption key, a repeated `kid`) is skipped, not fatal, and why is kept: a task
/// signed with it is then refused with that reason.
package struct TaskVerificationKeySet: Sendable {
    /// Usable keys by id.
    package private(set) var keys: [String: TaskVerificationKey]
    /// Why the key with this id was skipped.
    package private(set) var skipped: [String: String]

    package init(keys: [TaskVerificationKey]) {
        var byID: [String: TaskVerificationKey] = [:]
        for key in keys where byID[key.kid] == nil { byID[key.kid] = key }
        self.keys = byID
        self.skipped = [:]
    }

    package static let empty = TaskVerificationKeySet(keys: [])

    /// Key ids, sorted, for messages.
    package var keyIDs: [String] { keys.keys.sorted() }

    /// Parses a key set document.
    /// - Throws: `KeySetError` when the document is not a key set at all.
    package init(json bytes: [UInt8]) throws(KeySetError) {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw KeySetError("it is not JSON: \(error.message)")
        }
        guard case .object(let members) = document,
            case .array(let entries)? = members.first(where: { $0.key == "keys" })?.value
        else {
            throw KeySetError("it has no \"keys\" array, so it is not a JSON Web Key Set")
        }
        var keys: [String: TaskVerificationKey] = [:]
        var skipped: [String: String] = [:]
        for (index, entry) in entries.enumerated() {
            guard case .object(let object) = entry else { continue }
            let fields = Dictionary(object, uniquingKeysWith: { first, _ in first })
            guard case .string(let kid)? = fields["kid"], !kid.isEmpty else {
                skipped["#\(index)"] = "key \(index) has no \"kid\""
                continue
            }
            // A repeated id is ambiguous: the first key with it is the one used.
            if keys[kid] != nil { continue }
            switch Self.key(kid: kid, fields) {
            case .success(let key): keys[kid] = key
            case .failure(let why): skipped[kid] = why.cause
            }
        }
        self.keys = keys
        self.skipped = skipped.filter { keys[$0.key] == nil }
    }

    /// The key set document with every usable key (what `outpost keys generate` writes).
    package func json() -> [UInt8] {
        // One key per line: easy to read, to diff, and to merge two sets by hand.
        let lines = keyIDs.compactMap { keys[$0]?.jwk }.compactMap { try? CanonicalJSON.encode($0) }
            .map { "    " + String(decoding: $0, as: UTF8.self) }
        return Array(("{\n  \"keys\": [\n" + lines.joined(separator: ",\n") + "\n  ]\n}\n").utf8)
    }

    private static func key(kid: String, _ fields: [String: JSONValue]) -> Result<TaskVerificationKey, KeySetError> {
        func string(_ name: String) -> String? {
            if case .string(let text)? = fields[name] { return text }
            return nil
        }
        func bytes(_ name: String) -> [UInt8]? { string(name).flatMap { Base64URL.decode(Substring($0)) } }
        if let use = string("use"), use != "sig" {
            return .failure(KeySetError("it is for \"use\": \(UntrustedText.quote(use)), not for signatures"))
        }
        let material: TaskVerificationKey.Material
        switch (string("kty"), string("crv")) {
        case ("OKP", "Ed25519"):
            guard let x = bytes("x"), x.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x) else {
                return .failure(KeySetError("its Ed25519 \"x\" is not 32 bytes of base64url"))
            }
            material = .ed25519(key)
        case ("EC", "P-256"):
            guard let x = bytes("x"), let y = bytes("y"), x.count == 32, y.count == 32,
                let key = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
            else {
                return .failure(KeySetError("its \"x\" and \"y\" are not a point on P-256"))
            }
            material = .p256(key)
        case (let kty, let crv):
            return .failure(
                KeySetError(
                    "it is a \(UntrustedText.quote(kty ?? "")) key\(crv.map { " on \(UntrustedText.quote($0))" } ?? ""); "
                        + "only Ed25519 (OKP) and P-256 (EC) keys sign tasks"))
        }
        let key = TaskVerificationKey(kid: kid, material: material)
        if let alg = string("alg"), alg != key.algorithm.rawValue {
            return .failure(
                KeySetError(
                    "its \"alg\" \(UntrustedText.quote(alg)) does not fit a \(key.algorithm.displayName) key "
                        + "(\(key.algorithm.rawValue))"))
        }
        var allowed = key
        for (name, path) in [("allowed_targets", \TaskVerificationKey.allowedTargets), ("allowed_tags", \.allowedTags)] {
            guard let value = fields[name] else { continue }
            guard case .array(let items) = value else {
                return .failure(KeySetError("its \"\(name)\" is not a list of patterns"))
            }
            var patterns: [TagPattern] = []
            for item in items {
                guard case .string(let text) = item, let pattern = try? TagPattern(text) else {
                    return .failure(KeySetError("its \"\(name)\" holds something that is not a name or glob pattern"))
                }
                patterns.append(pattern)
            }
            allowed[keyPath: path] = patterns
        }
        return .success(allowed)
    }
}

/// Why a key set could not be read: a short cause, completed by the caller with
/// where the key set came from.
package struct KeySetError: Error, Sendable, Equatable, CustomStringConvertible {
    package var cause: String
    package init(_ cause: String) { self.cause = cause }
    package var description: String { cause }
}
