import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OutpostCore

extension Request {
    /// Decodes a JSON body strictly with `WireJSON.decodeRequest` (unknown fields,
    /// repeated keys and wrong types refused), wording every failure as a 400 that
    /// names the field (never echoing values, which may be secrets).
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int = 2 * 1024 * 1024) async throws -> T {
        guard let value = try await decodeOptionalJSON(type, limit: limit) else {
            throw HubError.invalid("the request body is empty; send a JSON object")
        }
        return value
    }

    /// `decodeJSON`, but an empty body is `nil` (for calls whose body is optional).
    func decodeOptionalJSON<T: Decodable>(_ type: T.Type, limit: Int = 64 * 1024) async throws -> T? {
        if let contentType = headers[.contentType] {
            let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
            guard let mediaType,
                mediaType.lowercased() == "application/json" || mediaType.lowercased().hasSuffix("+json")
            else {
                throw HubError(.unsupportedMediaType, "send the request body as application/json (got \(contentType))")
            }
        }
        let buffer = try await collectBody(limit: limit)
        guard buffer.readableBytes > 0 else { return nil }
        do {
            return try WireJSON.decodeRequest(T.self, from: buffer.readableBytesView)
        } catch {
            throw HubError.invalid(error.message)
        }
    }

    /// The whole body, or 413 past `limit`.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw HubError(.tooLarge, "the request body is larger than \(limit) bytes")
        }
    }

    /// A query parameter, or `nil` when absent. Repeating a parameter is refused.
    func query(_ name: String) throws -> String? {
        let values = uri.queryParameters[values: name[...]]
        guard values.count <= 1 else { throw HubError.invalid("query parameter \"\(name)\" is given more than once") }
        return values.first.map(String.init)
    }

    /// An integer query parameter within `range`.
    func queryInt(_ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = try query(name) else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw HubError.invalid(
                "query parameter \"\(name)\" must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A number of seconds within `range`.
    func querySeconds(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let text = try query(name) else { return nil }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw HubError.invalid(
                "query parameter \"\(name)\" must be a number of seconds from \(range.lowerBound) to \(range.upperBound)"
            )
        }
        return value
    }

    /// `true` or `false`, as the API description says; absent means `false`.
    func queryBool(_ name: String, default absent: Bool = false) throws -> Bool {
        switch try query(name) {
        case nil: absent
        case "false": false
        case "true": true
        default: throw HubError.invalid("query parameter \"\(name)\" must be true or false")
        }
    }
}

extension HubRequestContext {
    /// A path parameter the route template guarantees.
    func pathParameter(_ name: String) throws -> String {
        guard let value = parameters.get(name), !value.isEmpty else {
            throw HubError.invalid("missing path parameter \"\(name)\"")
        }
        return value
    }
}

extension Response {
    /// A JSON response encoded with `WireJSON`.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try WireJSON.encoder().encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(data.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func noContent() -> Response { Response(status: .noContent) }
}
