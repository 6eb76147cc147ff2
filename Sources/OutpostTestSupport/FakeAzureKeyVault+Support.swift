import Foundation
import HTTPTypes
import Hummingbird

/// HTTP helpers of the cloud fakes (`FakeAzureKeyVault`, `FakeGCPSecretManager`).
enum FakeCloud {
    /// A JSON response built from plain values (`[String: Any]`, arrays, strings, numbers).
    static func json(_ status: HTTPResponse.Status, _ object: Any, headers: [(String, String)] = []) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return text(status, String(decoding: data, as: UTF8.self), contentType: "application/json; charset=utf-8", headers: headers)
    }

    static func text(
        _ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8",
        headers: [(String, String)] = []
    ) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// A header's value, by name.
    static func header(_ request: Request, _ name: String) -> String? {
        HTTPField.Name(name).flatMap { request.headers[$0] }
    }

    /// The token of an `Authorization: Bearer ...` header.
    static func bearer(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.hasPrefix("Bearer ") else { return nil }
        return String(value.dropFirst("Bearer ".count))
    }

    /// A query parameter (percent-decoded).
    static func query(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters[name[...]].map(String.init)
    }

    /// The fields of an `application/x-www-form-urlencoded` body.
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// `http://HOST:PORT` as the client addressed the server (for links and audiences).
    static func origin(_ request: Request) -> String {
        "http://\(request.head.authority ?? header(request, "Host") ?? "127.0.0.1")"
    }

    /// Decodes base64url without padding (JWT segments).
    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    /// A random token-like string.
    static func randomToken(prefix: String) -> String {
        prefix + (0..<24).map { _ in String("abcdefghijklmnopqrstuvwxyz0123456789".randomElement()!) }.joined()
    }
}

/// Injected failures of a cloud fake: the next `count` requests to an endpoint
/// answer `status`.
struct FakeFaults<Endpoint: Equatable & Sendable>: Sendable {
    private struct Fault: Sendable {
        var endpoint: Endpoint
        var status: Int
        var remaining: Int
    }

    private var pending: [Fault] = []

    mutating func add(_ endpoint: Endpoint, status: Int, count: Int) {
        pending.append(Fault(endpoint: endpoint, status: status, remaining: count))
    }

    /// The status of the next pending fault for `endpoint`, using one of its count.
    mutating func take(_ endpoint: Endpoint) -> Int? {
        guard let index = pending.firstIndex(where: { $0.endpoint == endpoint }) else { return nil }
        pending[index].remaining -= 1
        let status = pending[index].status
        if pending[index].remaining <= 0 { pending.remove(at: index) }
        return status
    }
}
