package import AsyncHTTPClient
import Foundation
package import NIOCore
package import NIOHTTP1
import OutpostTransport

/// The HTTP calls of the HTTP-based providers: one place that sends with a
/// timeout, turns transport failures into `.unreachable`, and maps statuses to
/// error codes the same way for every store.
package struct SecretHTTP: Sendable {
    package let client: HTTPClient
    /// Upper bound of one request.
    package let timeout: Duration

    package init(client: HTTPClient, timeout: Duration) {
        self.client = client
        self.timeout = timeout
    }

    package struct Response: Sendable {
        package var status: Int
        package var headers: HTTPHeaders
        package var body: [UInt8]

        /// The body as text, for error details (callers never log a success body).
        package var text: String { String(decoding: body, as: UTF8.self) }

        /// Decodes a JSON body.
        /// - Throws: `.malformed` naming `what`.
        package func json<T: Decodable>(_ type: T.Type, what: String) throws(SecretError) -> T {
            do {
                return try JSONDecoder().decode(T.self, from: Data(body))
            } catch {
                throw SecretError(.malformed, "\(what) answered with a body that is not the expected JSON")
            }
        }
    }

    /// A client for secret stores: a refused connection fails at once instead of
    /// being retried until the deadline (`ManagedProvider` owns the retrying).
    /// The caller shuts it down.
    package static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Sends one request; never throws for an HTTP status (see `Response.status`).
    /// `prepare` adjusts the request last (a provider's own TLS configuration).
    /// - Throws: `.unreachable` when no answer came (refused, reset, DNS, timeout);
    ///   `.malformed` (not retryable) when the answer is larger than `maxBodyBytes`.
    package func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        maxBodyBytes: Int = 8 << 20, prepare: (@Sendable (inout HTTPClientRequest) -> Void)? = nil
    ) async throws(SecretError) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        prepare?(&request)
        do {
            let response = try await client.execute(request, timeout: TimeAmount(timeout))
            let bytes = try await response.body.collect(upTo: maxBodyBytes)
            return Response(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
        } catch is NIOTooManyBytesError {
            // Asking again gets the same answer: not retryable, and nothing of it is kept.
            throw SecretError(
                .malformed, "\(Self.host(of: url)) answered with more than \(Self.sizeText(maxBodyBytes)); "
                    + "no secret store answer is that large, so it was not read")
        } catch {
            throw SecretError(.unreachable, "\(Self.host(of: url)): \(TransportFailure(error))")
        }
    }

    /// The error code of a non-2xx status, with `detail` as the store's own words.
    package static func error(status: Int, detail: String) -> SecretError {
        switch status {
        case 401, 403: SecretError(.denied, "HTTP \(status): \(detail)")
        case 404: SecretError(.notFound, "HTTP \(status): \(detail)")
        case 408, 429, 500...599: SecretError(.unreachable, "HTTP \(status): \(detail)")
        default: SecretError(.rejected, "HTTP \(status): \(detail)")
        }
    }

    /// `8 MiB`, `64 KiB`, `512 bytes`.
    static func sizeText(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    static func host(of url: String) -> String {
        URL(string: url).flatMap { url in url.host.map { host in url.port.map { "\(host):\($0)" } ?? host } } ?? url
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
