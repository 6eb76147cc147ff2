/// The one error type of `OutpostSecrets`. Names provider, path and key; never a value.
///
/// `message` reads `secret provider "aws" (aws-secrets-manager), path "prod/db",
/// key "password": not found: <detail>` so every task error says exactly which
/// reference failed.
package struct SecretError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Code: String, Sendable, Equatable {
        /// The reference names a provider the agent does not have.
        case providerNotConfigured = "provider not configured"
        /// The agent's configuration of a provider is wrong (the CLI exits 2).
        case invalidConfiguration = "invalid configuration"
        /// The provider answered that the secret or key does not exist.
        case notFound = "not found"
        /// The provider refused access (bad credentials, missing permission).
        case denied = "access denied"
        /// The provider could not be reached, timed out, or answered 5xx/429.
        /// The only retryable code.
        case unreachable = "provider unreachable"
        /// The secret exists but is not in the expected shape (malformed JSON, binary, ...).
        case malformed = "malformed secret"
        /// The provider cannot do this (e.g. listing).
        case unsupported = "not supported"
        /// The provider answered with an error that is none of the above (a 400, 405,
        /// 409, a redirect, ...): the request itself is wrong for this store.
        case rejected = "request rejected"
    }

    package var code: Code
    /// What went wrong, in the provider's terms; never a secret value.
    package var detail: String
    /// Name of the provider (as configured on the agent).
    package var provider: String?
    /// The provider's type (`vault`, ...), for context.
    package var providerType: String?
    package var path: String?
    /// The key inside a JSON secret, when one is concerned.
    package var key: String?
    /// How long the store asked to wait before trying again (its `Retry-After` on a
    /// 429 or 503); `ManagedProvider` waits at least that long before its next retry.
    package var retryAfter: Duration?

    package init(
        _ code: Code, _ detail: String, provider: String? = nil, providerType: String? = nil, path: String? = nil,
        key: String? = nil, retryAfter: Duration? = nil
    ) {
        self.code = code
        self.detail = detail
        self.provider = provider
        self.providerType = providerType
        self.path = path
        self.key = key
        self.retryAfter = retryAfter
    }

    /// One line naming the provider, path and key, the failure, and its detail.
    package var message: String {
        var parts: [String] = []
        if let provider {
            parts.append("secret provider \"\(provider)\"" + (providerType.map { " (\($0))" } ?? ""))
        }
        if let path { parts.append("path \"\(path)\"") }
        if let key { parts.append("key \"\(key)\"") }
        let context = parts.joined(separator: ", ")
        let what = code == .invalidConfiguration ? detail : "\(code.rawValue): \(detail)"
        return context.isEmpty ? what : "\(context): \(what)"
    }

    package var description: String { message }

    /// Whether trying again later can succeed: decided here only.
    package var isRetryable: Bool { code == .unreachable }

    /// The same error with the reference's context filled in where missing.
    package func with(provider: String, type: String, path: String? = nil, key: String? = nil) -> SecretError {
        var copy = self
        copy.provider = copy.provider ?? provider
        copy.providerType = copy.providerType ?? type
        copy.path = copy.path ?? path
        copy.key = copy.key ?? key
        return copy
    }
}
