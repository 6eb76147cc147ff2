package import Foundation
import NIOHTTP1

/// Sends AWS API calls: SigV4-signed (or, for STS web identity, unsigned),
/// in the JSON 1.1 protocol (Secrets Manager) or the Query protocol (STS, IAM).
///
/// Transport failures are `.unreachable` (from `SecretHTTP`); error answers are
/// mapped by `AWSServiceError`. No retries here: `ManagedProvider` retries.
package struct AWSClient: Sendable {
    package var http: SecretHTTP
    /// The region requests are signed for.
    package var region: String

    package init(http: SecretHTTP, region: String) {
        self.http = http
        self.region = region
    }

    /// Signs (unless `credentials` is `nil`) and sends `request`; any status comes back.
    package func send(
        _ request: SigV4Request, service: String, credentials: AWSCredentials?, date: Date = Date()
    ) async throws(SecretError) -> SecretHTTP.Response {
        var request = request
        if request.header("host") == nil { request.headers.append((name: "Host", value: request.host)) }
        if let credentials {
            request = SigV4Signer(credentials: credentials, region: region, service: service).sign(request, date: date)
                .request
        }
        let method = HTTPMethod(rawValue: request.method.uppercased())
        return try await http.send(
            method, request.url, headers: request.headers.map { ($0.name, $0.value) },
            body: request.body.isEmpty && method == .GET ? nil : request.body)
    }

    /// A JSON 1.1 call (`X-Amz-Target: <target>`); the body of a 2xx answer.
    /// - Throws: the mapped error of a non-2xx answer, naming `what`.
    package func json(
        service: String, endpoint: String, target: String, body: [UInt8], credentials: AWSCredentials, what: String
    ) async throws(SecretError) -> [UInt8] {
        let response = try await jsonResponse(
            service: service, endpoint: endpoint, target: target, body: body, credentials: credentials)
        guard (200..<300).contains(response.status) else {
            throw AWSServiceError(response: response).secretError(what: what, secrets: credentials.secrets)
        }
        return response.body
    }

    /// A JSON 1.1 call whose answer comes back whatever its status.
    func jsonResponse(
        service: String, endpoint: String, target: String, body: [UInt8], credentials: AWSCredentials
    ) async throws(SecretError) -> SecretHTTP.Response {
        let request = try SigV4Request(
            method: "POST", url: endpoint + "/",
            headers: [
                (name: "Content-Type", value: "application/x-amz-json-1.1"),
                (name: "X-Amz-Target", value: target),
            ], body: body)
        return try await send(request, service: service, credentials: credentials)
    }

    /// A Query-protocol call (form-encoded POST); the XML of a 2xx answer.
    /// - Parameter credentials: `nil` sends the call unsigned (`AssumeRoleWithWebIdentity`).
    /// - Parameter secrets: more strings to keep out of error messages (a web identity token).
    /// - Throws: the mapped error of a non-2xx answer, naming `what`.
    package func query(
        service: String, endpoint: String, action: String, version: String,
        parameters: [(name: String, value: String)], credentials: AWSCredentials?, what: String,
        secrets: [String] = []
    ) async throws(SecretError) -> String {
        let pairs = [(name: "Action", value: action), (name: "Version", value: version)] + parameters
        let request = try SigV4Request(
            method: "POST", url: endpoint + "/",
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
            body: Array(Self.formEncode(pairs).utf8))
        let response = try await send(request, service: service, credentials: credentials)
        guard (200..<300).contains(response.status) else {
            throw AWSServiceError(response: response)
                .secretError(what: what, secrets: (credentials?.secrets ?? []) + secrets)
        }
        return response.text
    }

    /// `application/x-www-form-urlencoded` as Python's `urlencode` writes it
    /// (space as `+`), so that servers re-encoding a parsed form to verify the
    /// signature (moto) get the same bytes.
    static func formEncode(_ pairs: [(name: String, value: String)]) -> String {
        func encode(_ text: String) -> String {
            SigV4Signer.uriEncode(text, encodeSlash: true).replacingOccurrences(of: "%20", with: "+")
        }
        return pairs.map { "\(encode($0.name))=\(encode($0.value))" }.joined(separator: "&")
    }
}
