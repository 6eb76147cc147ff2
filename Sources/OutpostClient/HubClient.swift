package import AsyncHTTPClient
import Foundation
package import NIOCore
import NIOHTTP1
import NIOSSL
import OutpostCore
package import OutpostTransport

/// A typed client of the hub's HTTP API, used by the agent and the CLI.
///
/// Stateless apart from the bearer token and a pinned certificate once found; safe
/// to share between tasks.
package struct HubClient: Sendable {
    /// Base URL of the hub, without a trailing slash (`http://127.0.0.1:8080`).
    package let baseURL: String
    /// Bearer token sent with every call (admin, registration or agent token).
    package var token: String?
    /// Upper bound for calls that are not long polls.
    package var requestTimeout: TimeAmount
    /// The certificate and key presented in the TLS handshake (mTLS agents). Default `nil`.
    package var clientIdentity: ClientIdentity?
    let http: HTTPClient
    let connection: HubConnection

    /// - Parameters:
    ///   - trust: how the hub's TLS certificate is verified. Default: the system trust store.
    ///   - insecureHTTP: allow plain `http://` to a host that is not loopback, where the
    ///     token crosses the network in clear text. Default `false`: such calls throw.
    ///   - http: the HTTP client to send with. Default: one client for the process
    ///     that fails at once when a connection cannot be made (a refused handshake
    ///     is told with its cause, a hub that is down as such, without waiting out
    ///     retries until the deadline; the agent's session retries with backoff).
    package init(
        baseURL: String, token: String?, trust: HubTrust = .system, insecureHTTP: Bool = false, http: HTTPClient? = nil,
        requestTimeout: TimeAmount = .seconds(30)
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.http = http ?? HubHTTP.client
        self.requestTimeout = requestTimeout
        connection = HubConnection(baseURL: base, trust: trust, insecureHTTP: insecureHTTP)
    }

    /// A copy of this client that sends another bearer token.
    package func withToken(_ token: String?) -> HubClient {
        var copy = self
        copy.token = token
        return copy
    }

    /// A copy of this client that presents `identity` in its TLS handshakes (or none).
    /// Requests already sent keep the connection they went out on; new ones use
    /// connections with this identity (the HTTP client pools per TLS configuration).
    package func withClientIdentity(_ identity: ClientIdentity?) -> HubClient {
        var copy = self
        copy.clientIdentity = identity
        return copy
    }

    // MARK: Plumbing shared by every call

    /// Sends a request and returns the response with its whole body, or throws
    /// the hub's error as a `ClientError`.
    func send(
        _ method: HTTPMethod,
        _ path: String,
        body: [UInt8]? = nil,
        contentType: String = "application/json",
        timeout: TimeAmount? = nil,
        maxBodyBytes: Int = 64 << 20,
        headers: [(name: String, value: String)] = []
    ) async throws(ClientError) -> (head: HTTPClientResponse, body: ByteBuffer) {
        var request = try await makeRequest(method, path, body: body, contentType: contentType)
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        do {
            let response = try await http.execute(request, timeout: timeout ?? requestTimeout)
            let bytes = try await response.body.collect(upTo: maxBodyBytes)
            if response.status.code >= 400 {
                throw Self.apiError(status: Int(response.status.code), body: bytes, path: path)
            }
            return (response, bytes)
        } catch let error as ClientError {
            throw error
        } catch {
            throw await connection.failure(error, baseURL: baseURL, context: "cannot reach the hub at \(baseURL)")
        }
    }

    /// Sends a JSON body and decodes a JSON answer.
    func call<Body: Encodable, Response: Decodable>(
        _ method: HTTPMethod,
        _ path: String,
        json: Body,
        timeout: TimeAmount? = nil,
        headers: [(name: String, value: String)] = [],
        as: Response.Type = Response.self
    ) async throws(ClientError) -> Response {
        let bytes: [UInt8]
        do {
            bytes = Array(try WireJSON.encoder().encode(json))
        } catch {
            throw ClientError(.invalidRequest, "cannot encode the request body: \(error)")
        }
        let (_, body) = try await send(method, path, body: bytes, timeout: timeout, headers: headers)
        return try decode(Response.self, from: body, path: path)
    }

    /// Sends a request without a body and decodes a JSON answer.
    func call<Response: Decodable>(
        _ method: HTTPMethod,
        _ path: String,
        timeout: TimeAmount? = nil,
        as: Response.Type = Response.self
    ) async throws(ClientError) -> Response {
        let (_, body) = try await send(method, path, timeout: timeout)
        return try decode(Response.self, from: body, path: path)
    }

    /// A request with the token and the TLS configuration of this client's trust and identity.
    /// - Throws: `.invalidRequest` before any connection when plain HTTP would carry the
    ///   token off this host; a pin that matches none of the hub's certificates.
    func makeRequest(_ method: HTTPMethod, _ path: String, body: [UInt8]?, contentType: String) async throws(ClientError)
        -> HTTPClientRequest
    {
        if let refusal = connection.refusal { throw refusal }
        var request = HTTPClientRequest(url: baseURL + path)
        request.tlsConfiguration = try await tlsConfiguration()
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "User-Agent", value: "outpost/\(OutpostVersion.current)")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
        }
        return request
    }

    /// The TLS configuration of this client's trust and identity, or `nil` for the
    /// HTTP client's own (system trust without an identity, or plain HTTP).
    func tlsConfiguration() async throws(ClientError) -> TLSConfiguration? {
        let trusted = try await connection.tlsConfiguration(baseURL: baseURL)
        guard let clientIdentity, connection.isTLS else { return trusted }
        // The system trust has no configuration of its own; the identity needs one.
        return clientIdentity.applied(to: trusted ?? connection.trust.tlsConfiguration())
    }

    func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer, path: String) throws(ClientError) -> T {
        do {
            return try WireJSON.decoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw ClientError(.invalidResponse, "unexpected answer from the hub for \(path): \(error)")
        }
    }

    static func apiError(status: Int, body: ByteBuffer, path: String) -> ClientError {
        if let parsed = try? WireJSON.decoder().decode(APIErrorBody.self, from: Data(body.readableBytesView)) {
            return ClientError(
                .http(status: status, code: APIErrorCode(rawValue: parsed.error.code)), parsed.error.message,
                expectedOffset: parsed.error.expectedOffset)
        }
        return ClientError(.http(status: status, code: nil), "the hub answered HTTP \(status) for \(path)")
    }

    /// Percent-encodes one path segment (names and ids are validated, but be safe).
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }
}
