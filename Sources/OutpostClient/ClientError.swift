package import OutpostCore
package import OutpostTransport

/// The one error type of `OutpostClient`: what went wrong talking to the hub.
package struct ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Code: Sendable, Equatable {
        /// No answer: connection refused, reset, timed out, DNS failure.
        case unreachable
        /// The hub answered with an error status; `code` is the API error code of its
        /// body, or `nil` when the body had none this client knows (a proxy's page, a
        /// newer hub's code).
        case http(status: Int, code: APIErrorCode?)
        /// The hub answered something that is not what the API promises.
        case invalidResponse
        /// The request could not be built (bad hub URL, unencodable body), or was not
        /// sent because it would carry the token in clear text over the network.
        case invalidRequest
        /// The hub's TLS certificate was refused, for this reason (the message says more).
        case tls(TLSProblem.Kind)
    }

    package var code: Code
    /// One line for a human; includes the hub's own message for `.http`.
    package var message: String
    /// For `log_gap`: the offset the hub expects next.
    package var expectedOffset: Int64?

    package init(_ code: Code, _ message: String, expectedOffset: Int64? = nil) {
        self.code = code
        self.message = message
        self.expectedOffset = expectedOffset
    }

    package var description: String { message }

    /// The HTTP status, when the hub answered.
    package var status: Int? {
        if case .http(let status, _) = code { return status }
        return nil
    }

    /// The hub's error code (`.notFound`, `.logGap`, ...), when it answered with one.
    package var apiCode: APIErrorCode? {
        if case .http(_, let apiCode) = code { return apiCode }
        return nil
    }

    /// Whether trying the same call again later can succeed. This is the one
    /// place that decides it (agent retries and CLI waits both ask here).
    package var isRetryable: Bool {
        switch code {
        case .unreachable: true
        case .http(let status, _): status == 408 || status == 429 || status >= 500
        case .invalidResponse: true  // a proxy's HTML error page, a half-written answer
        case .invalidRequest: false
        // A certificate problem needs a person (a new certificate, --hub-ca, a clock
        // fix); retrying would only hide the cause the message names.
        case .tls: false
        }
    }
}
