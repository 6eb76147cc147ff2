package import AsyncHTTPClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore
import NIOPosix
import NIOSSL

/// Why an HTTP request got no answer, decided once from the error's type (never by
/// searching its text) for every client of Outpost: the agent and CLI talking to the
/// hub, secret providers talking to their stores, and the hub replaying STS requests.
///
/// `description` is a few words for an error message; the long descriptions of the
/// transport's own errors go to `detail` only for `.other`.
package enum TransportFailure: Sendable, Equatable, CustomStringConvertible {
    /// Nothing listens at the address (ECONNREFUSED).
    case connectionRefused
    /// The connection could not be set up in time.
    case connectTimeout
    /// Connected, but the whole answer did not arrive before the deadline.
    case noAnswerInTime
    /// The peer closed or reset the connection before answering.
    case connectionClosed
    /// The host name does not resolve.
    case hostNotFound
    /// No route to the host or its network.
    case hostUnreachable
    /// The TLS handshake or the certificate check failed.
    case tls(String)
    /// Anything else, with the transport's own words (cut short).
    case other(String)

    package init(_ error: any Error) {
        switch error {
        case let error as HTTPClientError:
            self = Self.classify(error)
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first {
                self = TransportFailure(first.error)
            } else if error.dnsAError != nil || error.dnsAAAAError != nil {
                self = .hostNotFound
            } else {
                self = .other(Self.short(error))
            }
        case let error as IOError:
            self = Self.classify(errno: error.errnoCode) ?? .other(Self.short(error))
        case let error as ChannelError:
            switch error {
            case .connectTimeout: self = .connectTimeout
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: self = .connectionClosed
            default: self = .other(Self.short(error))
            }
        case let error as NIOSSLError:
            self = .tls(Self.short(error))
        case let error as BoringSSLError:
            self = .tls(Self.short(error))
        case let error as NIOSSLExtraError:
            self = .tls(Self.short(error))
        default:
            self = .other(Self.short(error))
        }
    }

    package var description: String {
        switch self {
        case .connectionRefused: "connection refused"
        case .connectTimeout: "connection timed out"
        case .noAnswerInTime: "no answer in time"
        case .connectionClosed: "connection closed"
        case .hostNotFound: "host not found"
        case .hostUnreachable: "host unreachable"
        case .tls(let detail): "TLS failed: \(detail)"
        case .other(let detail): detail
        }
    }

    private static func classify(_ error: HTTPClientError) -> TransportFailure {
        switch error {
        case .connectTimeout, .getConnectionFromPoolTimeout: .connectTimeout
        case .deadlineExceeded, .readTimeout, .writeTimeout: .noAnswerInTime
        case .remoteConnectionClosed, .uncleanShutdown: .connectionClosed
        case .tlsHandshakeTimeout: .tls("handshake timed out")
        default: .other(short(error))
        }
    }

    private static func classify(errno code: Int32) -> TransportFailure? {
        switch code {
        case ECONNREFUSED: .connectionRefused
        case ETIMEDOUT: .connectTimeout
        case ECONNRESET, EPIPE, ECONNABORTED: .connectionClosed
        case EHOSTUNREACH, ENETUNREACH, ENETDOWN: .hostUnreachable
        default: nil
        }
    }

    /// A transport's own description, cut to a readable length.
    private static func short(_ error: any Error) -> String {
        String(String(describing: error).prefix(200))
    }
}
