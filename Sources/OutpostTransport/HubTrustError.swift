/// Why the clients' trust in the hub could not be set up: a CA file or a pin
/// that cannot be used. Checked when a client starts, before any token is sent.
package struct HubTrustError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Code: Sendable, Equatable {
        /// The CA file is missing, unreadable, or holds no PEM certificate.
        case caFile
        /// The pin is not a SHA-256 fingerprint.
        case invalidPin
    }

    package var code: Code
    /// One line for a human, naming the file or the flag.
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
