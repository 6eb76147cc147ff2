import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OutpostCore

extension Request {
    /// Decodes a JSON body with `WireJSON`, wording every failure as a 400 that
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
            return try WireJSON.decoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw HubError.invalid(Self.describe(error))
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

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }
                .description
        }
        switch error {
        case .keyNotFound(let key, let context):
            let full = path(context.codingPath + [key])
            return "missing field \"\(full)\""
        case .typeMismatch(let type, let context):
            return "field \"\(path(context.codingPath))\" has the wrong type (expected \(jsonTypeName(type)))"
        case .valueNotFound(let type, let context):
            return "field \"\(path(context.codingPath))\" must not be null (expected \(jsonTypeName(type)))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the request body is not valid JSON" }
            return "field \"\(path(context.codingPath))\" is invalid: \(context.debugDescription)"
        @unknown default:
            return "the request body could not be decoded"
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int32.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default:
            "\(type)".hasPrefix("Array") ? "an array" : "\(type)".hasPrefix("Dictionary") ? "an object" : "\(type)"
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

    /// `true`/`false` (also `1`/`0`); absent means `false`.
    func queryBool(_ name: String) throws -> Bool {
        switch try query(name)?.lowercased() {
        case nil, "false", "0": false
        case "true", "1", "": true
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
