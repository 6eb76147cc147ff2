/// The one error type of `OutpostAgent`: what stopped the agent or a task, and what to do.
///
/// Messages name the hub URL, task id, integration or path involved; never a
/// token or a secret value.
package struct AgentError: Error, Sendable, CustomStringConvertible {
    package enum Code: Sendable, Equatable {
        /// A configuration value is invalid; `message` names the field (the CLI exits 2).
        case invalidConfiguration
        /// The hub refused the registration token (HTTP 401/403).
        case registrationRefused
        /// The hub refused the registration for another reason (name taken, bad request).
        case registrationFailed
        /// The work directory cannot be created, locked or written.
        case workDirectory
        /// A task's integration is unknown or its program is not installed.
        case integrationUnavailable
        /// The operating system refused to start a task's process.
        case launchFailed
        /// A task's user token failed the agent's check (`jwk_url`).
        case userTokenRejected
        /// A task's signature failed the agent's check (`require_signed_tasks`).
        case signatureRejected
        /// A file or process operation failed.
        case io
    }

    package var code: Code
    /// One or two sentences: what failed and what to do about it.
    package var message: String
    /// The error that caused this one, when there is one.
    package var underlying: (any Error & Sendable)?

    package init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    package var description: String { message }
}
