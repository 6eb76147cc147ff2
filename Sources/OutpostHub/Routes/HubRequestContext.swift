import Foundation
import Hummingbird
import NIOCore
import OutpostCore
import OutpostStore

/// The request context of every hub route: Outpost's JSON coders and the caller.
struct HubRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by the route table once the request's token checked out.
    var caller: Caller = .anonymous
    /// The connection, for what its TLS handshake established (an agent's client certificate).
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// JSON bodies are small; log chunks and scripts have their own limits.
    var maxUploadSize: Int { 2 * 1024 * 1024 }
    var requestDecoder: WireRequestDecoder { WireRequestDecoder() }
    var responseEncoder: WireResponseEncoder { WireResponseEncoder() }

    /// The API token of the request; only on `.user` routes.
    func apiToken() throws -> APITokenRow {
        guard case .user(let row) = caller else { throw HubError(.internal, "route expected an API token") }
        return row
    }

    /// The calling agent; only on `.agent` routes.
    func agent() throws -> AgentIdentity {
        guard case .agent(let identity) = caller else { throw HubError(.internal, "route expected an agent caller") }
        return identity
    }

    /// The agent type whose registration token was used; only on `.registration` routes.
    func agentType() throws -> AgentType {
        guard case .registration(let type) = caller else {
            throw HubError(.internal, "route expected a registration token")
        }
        return type
    }
}

/// Encodes responses with `WireJSON` (ISO 8601 dates with milliseconds, sorted keys).
struct WireResponseEncoder: ResponseEncoder {
    func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        let data = try WireJSON.encoder().encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(data.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Decodes request bodies with `WireJSON`. Routes use `Request.decodeJSON` instead,
/// which words errors for the API; this exists so the context is complete.
struct WireRequestDecoder: RequestDecoder {
    func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return try WireJSON.decoder().decode(T.self, from: Data(buffer.readableBytesView))
    }
}
