/// The one error type of `OutpostSecrets`. Names provider, path and key; never a value.
package struct SecretError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Code: Sendable, Equatable {
        /// The reference names a provider the agent does not have.
        case providerNotConfigured
        /// The provider answered that the secret or key does not exist.
        case notFound
        /// The provider refused access.
        case denied
        /// The provider could not be reached after retries.
        case unreachable
        /// The secret exists but is not in the expected shape (malformed JSON, ...).
        case malformed
    }

    package var code: Code
    /// One sentence: what failed and what to do.
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
