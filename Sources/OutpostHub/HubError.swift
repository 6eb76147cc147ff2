/// The one error type of the hub: a stable code, one sentence for the user, and the
/// cause when there is one. `ErrorMiddleware` turns it into the API's error body.
///
/// A message never carries a token or a secret value.
package struct HubError: Error, CustomStringConvertible {
    /// What went wrong; each code has one HTTP status and one wire spelling.
    package enum Code: String, Sendable, CaseIterable {
        case invalidRequest = "invalid_request"
        case unauthorized
        /// The agent token is valid but the hub has marked the agent offline: register again.
        case agentOffline = "agent_offline"
        case forbidden
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case conflict
        /// The agent name is held by an agent that is still online (a restarted
        /// agent retries until the hub marks its old session offline).
        case nameInUse = "name_in_use"
        /// The agent name is reserved for a while after its last agent disconnected.
        case nameReserved = "name_reserved"
        /// The agent type is exclusive and another live agent holds the tag set.
        case exclusiveTagsHeld = "tags_held"
        /// Agents sharing a tag set must share one secret-provider layout.
        case providerLayoutMismatch = "provider_layout_mismatch"
        /// The agent type names agents after their AWS identity and none was sent.
        case awsIdentityRequired = "aws_identity_required"
        /// A log chunk starts past the stored end of the log.
        case logGap = "log_gap"
        /// The task is terminal on the hub; it takes no more log.
        case taskFinished = "task_finished"
        /// `finish` announced more log bytes than the hub holds.
        case logIncomplete = "log_incomplete"
        case tooLarge = "too_large"
        /// The task's log would pass the hub's cap.
        case logTooLarge = "log_too_large"
        case unsupportedMediaType = "unsupported_media_type"
        /// An agent did not answer a request relayed through its poll in time.
        case agentTimeout = "agent_timeout"
        /// The AWS identity an agent proved (`aws-sts` name policy) is not one the
        /// agent type accepts, or its signed request is not an acceptable proof.
        case identityRefused = "aws_identity_refused"
        /// The STS endpoint of the agent type could not be reached or failed (retry later).
        case stsUnavailable = "sts_unavailable"
        /// The hub is starting or stopping.
        case notReady = "not_ready"
        /// Start-up failed (data directory, database, admin token).
        case startup
        /// Anything unexpected; details go to the hub's log, not to the client.
        case `internal`
        /// The request line (its URL) is longer than the hub reads.
        case uriTooLong = "uri_too_long"
        /// The request's header fields are too many or too large.
        case headersTooLarge = "headers_too_large"
        /// The hub, or the caller's address, holds its cap of open connections (retry later).
        case tooManyConnections = "too_many_connections"
    }

    package var code: Code
    package var message: String
    /// For `log_gap`: the offset the hub expects next.
    package var expectedOffset: Int64?
    /// The error that caused this one, for the hub's own log.
    package var underlying: (any Error)?

    package init(_ code: Code, _ message: String, expectedOffset: Int64? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.expectedOffset = expectedOffset
        self.underlying = underlying
    }

    /// The message alone: it already names what failed; `underlying` is for the hub's log.
    package var description: String { message }

    static func invalid(_ message: String) -> HubError { HubError(.invalidRequest, message) }
    static func notFound(_ message: String) -> HubError { HubError(.notFound, message) }
}
