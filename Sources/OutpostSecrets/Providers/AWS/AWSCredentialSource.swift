/// One place AWS credentials can come from (static keys, web identity, the
/// shared credentials file, the container endpoint, EC2 instance metadata).
///
/// A source that is not set up answers `.notAvailable(reason)` and the chain
/// moves on; a source that is set up but fails throws, and the chain stops
/// there, so a broken web identity never silently falls back to other keys.
protocol AWSCredentialSource: Sendable {
    /// How messages name the source: `static keys`, `web identity`, ...
    var label: String { get }

    /// - Throws: `SecretError` when the source is set up but cannot deliver.
    func resolve() async throws(SecretError) -> AWSCredentialResolution
}

/// What one credential source found.
enum AWSCredentialResolution: Sendable {
    case found(AWSCredentials)
    /// Not set up here; the reason goes into "no AWS credentials: tried ...".
    case notAvailable(String)
}

/// Access keys from the provider's options (`access_key_id`, ...) and/or the
/// agent's `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
struct AWSStaticCredentialSource: AWSCredentialSource {
    /// Keys from the provider's options, if given.
    var configured: AWSCredentials?
    /// The agent's environment; `nil` when the environment is not to be read.
    var environment: [String: String]?

    var label: String { "static keys" }

    func resolve() async throws(SecretError) -> AWSCredentialResolution {
        if let configured { return .found(configured) }
        guard let environment else { return .notAvailable("access_key_id not configured") }
        let keyID = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (keyID, secret) {
        case (let keyID?, let secret?):
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return .found(AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token))
        case (nil, nil):
            return .notAvailable("not set")
        case (nil, _):
            throw SecretError(.denied, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (_, nil):
            throw SecretError(.denied, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
    }
}
