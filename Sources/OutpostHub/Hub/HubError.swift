package import OutpostCore

/// The one error type of the hub: a stable code, one sentence for the user, and the
/// cause when there is one. `ErrorMiddleware` turns it into the API's error body.
///
/// A message never carries a token or a secret value.
package struct HubError: Error, CustomStringConvertible {
    /// What went wrong: the codes are shared with the client and the agent through
    /// OutpostCore; each has one HTTP status (`ErrorMiddleware`) and one wire spelling.
    package typealias Code = APIErrorCode

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
