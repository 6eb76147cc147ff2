/// The error codes of the API (`{"error": {"code": ...}}`), one enum for the hub that
/// answers with them and the client and agent that act on them, so no side compares
/// spellings as strings. A client meeting a code it does not know keeps the status.
package enum APIErrorCode: String, Sendable, CaseIterable, Codable {
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
    /// The agent's type requires a client certificate (mutual TLS) naming the agent
    /// of the token, and the connection presented none, or one naming another agent.
    case clientCertificateRequired = "client_certificate_required"
    /// `GET /api/v1/agent/channel` without a WebSocket upgrade, or offering no channel
    /// version this hub speaks (the message names both): use the long poll.
    case channelUnsupported = "channel_unsupported"
}
