import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import OutpostCore
import OutpostStore

/// Turns every error a route (or the router itself) throws into the API's error
/// body `{"error":{"code","message"}}` with a fitting status. Unexpected errors
/// become a 500 with a generic message; their details go to the hub's log only.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext

    /// Every registered route, to tell "no such path" (404) from "wrong method" (405).
    let routes: [RouteSignature]
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let hubError = translate(error, request: request)
            if hubError.code == .internal {
                logger.error(
                    "request failed",
                    metadata: [
                        "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
                        "error": "\(hubError.underlying.map { "\($0)" } ?? hubError.message)",
                    ])
            }
            var response = Self.response(for: hubError)
            if hubError.code == .methodNotAllowed {
                response.headers[.allow] = allowedMethods(for: request.uri.path).joined(separator: ", ")
            }
            return response
        }
    }

    private func allowedMethods(for path: String) -> [String] {
        routes.filter { $0.matches(path: path) }.map(\.method.rawValue)
    }

    /// Maps any error to a `HubError`.
    func translate(_ error: any Error, request: Request) -> HubError {
        if let error = error as? HTTPError { return translate(error, request: request) }
        return Self.translate(error)
    }

    /// Maps an error that no HTTP request framed (a call over the agent channel) to a `HubError`.
    static func translate(_ error: any Error) -> HubError {
        switch error {
        case let error as HubError:
            if error.code == .internal {
                return HubError(.internal, Self.internalMessage, underlying: error.underlying ?? error)
            }
            return error
        case let error as StoreError:
            return Self.translate(error)
        case let error as ValidationError:
            return HubError(.invalidRequest, error.message)
        case is NIOTooManyBytesError:
            return HubError(.tooLarge, "the request body is too large")
        case let error as WireDecodingError:
            return HubError(.invalidRequest, error.message)
        case HTTPParserError.invalidEOFState:
            // The client went away mid-body (an agent killed mid-request): its
            // fault, not the hub's, and no one is left to read the answer.
            return HubError(.invalidRequest, "the connection closed before the request body was complete")
        default:
            return HubError(.internal, Self.internalMessage, underlying: error)
        }
    }

    static let internalMessage = "internal error in the hub; its log has the details"

    static func translate(_ error: StoreError) -> HubError {
        switch error.code {
        case .notFound: HubError(.notFound, error.message)
        case .conflict: HubError(.conflict, error.message)
        case .forbidden: HubError(.forbidden, error.message)
        case .logGap(let expected): HubError(.logGap, error.message, expectedOffset: expected)
        case .nameReserved: HubError(.nameReserved, error.message)
        case .exclusiveTagsHeld: HubError(.exclusiveTagsHeld, error.message)
        case .providerLayoutMismatch: HubError(.providerLayoutMismatch, error.message)
        case .database: HubError(.internal, internalMessage, underlying: error)
        case .logIncomplete(let stored): HubError(.logIncomplete, error.message, expectedOffset: stored)
        }
    }

    /// Errors Hummingbird raises itself: no route, body too large.
    private func translate(_ error: HTTPError, request: Request) -> HubError {
        switch error.status {
        case .notFound:
            let path = request.uri.path
            let allowed = allowedMethods(for: path)
            if !allowed.isEmpty {
                return HubError(
                    .methodNotAllowed,
                    "\(request.method.rawValue) is not allowed on \(path); use \(allowed.joined(separator: " or "))")
            }
            return HubError(.notFound, "no route \(request.method.rawValue) \(path)")
        case .contentTooLarge:
            return HubError(.tooLarge, "the request body is too large")
        case .unsupportedMediaType:
            return HubError(.unsupportedMediaType, error.body ?? "unsupported media type")
        default:
            if (400..<500).contains(error.status.code) {
                return HubError(.invalidRequest, error.body ?? error.status.reasonPhrase)
            }
            return HubError(.internal, Self.internalMessage, underlying: error)
        }
    }

    static func response(for error: HubError) -> Response {
        let data = error.wireBody
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(data.count)
        if error.asksForBearer {
            headers[.wwwAuthenticate] = "Bearer"
        }
        return Response(
            status: error.code.httpStatus, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HubError {
    /// The API's error body `{"error":{"code","message"}}` for this error.
    var wireBody: Data {
        let body = APIErrorBody(code: code.rawValue, message: message, expectedOffset: expectedOffset)
        return (try? WireJSON.encoder().encode(body)) ?? Data("{}".utf8)
    }

    /// Answers carrying it ask for a bearer token (`WWW-Authenticate: Bearer`).
    var asksForBearer: Bool { code == .unauthorized || code == .agentOffline }
}

extension HubError.Code {
    /// The HTTP status of each code.
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalidRequest, .awsIdentityRequired: .badRequest
        case .unauthorized, .agentOffline: .unauthorized
        case .forbidden, .identityRefused, .clientCertificateRequired: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict, .nameInUse, .nameReserved, .exclusiveTagsHeld, .providerLayoutMismatch, .logGap, .taskFinished,
            .logIncomplete:
            .conflict
        case .tooLarge, .logTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .notReady: .serviceUnavailable
        case .agentTimeout: .gatewayTimeout
        case .stsUnavailable: .badGateway
        case .startup, .internal: .internalServerError
        case .uriTooLong: .uriTooLong
        case .headersTooLarge: .requestHeaderFieldsTooLarge
        case .tooManyConnections: .serviceUnavailable
        case .channelUnsupported: .upgradeRequired
        }
    }
}
