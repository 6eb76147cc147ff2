import Foundation
package import OutpostCore

/// The request the hub sends to STS for an agent's signed `GetCallerIdentity`:
/// the agent's method, path, query, body and signed headers, aimed at the STS
/// endpoint configured for the agent type — never at a host the agent names.
///
/// Everything is checked before anything is sent: the signed `Host` must be the
/// configured endpoint's (anti-SSRF, and a signature for another host could not
/// verify anyway), the one action must be `GetCallerIdentity`, the request must
/// be signed, small, and plain (no `X-Amz-Target` that would switch STS to
/// another protocol and action).
package struct STSReplayRequest: Sendable, Equatable {
    /// `POST` or `GET`.
    package var method: String
    /// The configured endpoint's scheme, host and port, plus the agent's path and query.
    package var url: String
    /// The agent's headers, hop-by-hop ones and `Content-Length` dropped.
    package var headers: [SignedHTTPRequest.Header]
    package var body: [UInt8]

    /// Largest body accepted: `Action=GetCallerIdentity&Version=2011-06-15` is 43 bytes.
    static let maxBodyBytes = 4096
    /// Most headers accepted, and the largest value (a session token is 1–2 KiB).
    static let maxHeaders = 32
    static let maxHeaderValueBytes = 8192
    static let maxURLBytes = 8192

    /// Not forwarded: they describe the agent's connection, not the signed request
    /// (`Content-Length` is set again from the body).
    static let droppedHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
        "trailer", "trailers", "transfer-encoding", "upgrade", "content-length", "expect",
    ]

    /// Checks `request` and aims it at `endpoint`.
    /// - Throws: `HubError.identityRefused` saying what is wrong with the request;
    ///   `.internal` when `endpoint` itself is not a URL (the agent type's rules were not validated).
    package init(_ request: SignedHTTPRequest, endpoint: String) throws(HubError) {
        let target = try Self.endpointParts(endpoint)
        method = request.method.uppercased()
        guard method == "POST" || method == "GET" else {
            throw Self.refused("method \(Self.quoted(request.method)) is not POST or GET")
        }
        guard request.body.utf8.count <= Self.maxBodyBytes else {
            throw Self.refused(
                "the body has \(request.body.utf8.count) bytes; at most \(Self.maxBodyBytes) are accepted")
        }
        guard method == "POST" || request.body.isEmpty else { throw Self.refused("a GET request has a body") }
        guard request.url.utf8.count <= Self.maxURLBytes, let agentURL = URLComponents(string: request.url) else {
            throw Self.refused("the URL is not a URL")
        }
        let path = agentURL.percentEncodedPath.isEmpty ? "/" : agentURL.percentEncodedPath
        guard path == "/" else { throw Self.refused("the path \(Self.quoted(path)) is not STS's \"/\"") }
        let query = agentURL.percentEncodedQuery

        headers = try Self.checkedHeaders(request.headers, expectedHost: target.host, method: method)
        try Self.checkAction(query: query ?? "", body: method == "POST" ? request.body : "")
        let presigned = Self.formPairs(query ?? "").contains { $0.name == "X-Amz-Signature" }
        guard presigned || headers.contains(where: { $0.name.lowercased() == "authorization" }) else {
            throw Self.refused("it is not signed (no Authorization header, no X-Amz-Signature parameter)")
        }
        url = target.origin + path + (query.map { "?" + $0 } ?? "")
        body = Array(request.body.utf8)
    }

    // MARK: Checks

    /// `https://sts.amazonaws.com` → origin `https://sts.amazonaws.com`, host `sts.amazonaws.com`;
    /// a port other than the scheme's own is part of both.
    static func endpointParts(_ endpoint: String) throws(HubError) -> (origin: String, host: String) {
        guard let url = URLComponents(string: endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let name = url.host, !name.isEmpty
        else {
            throw HubError(.internal, "the agent type's STS endpoint \"\(endpoint)\" is not an http(s) URL")
        }
        let bracketed = name.contains(":") && !name.hasPrefix("[") ? "[\(name)]" : name
        let defaultPort = scheme == "https" ? 443 : 80
        let host = url.port.map { $0 == defaultPort ? bracketed : "\(bracketed):\($0)" } ?? bracketed
        return ("\(scheme)://\(host)", host.lowercased())
    }

    private static func checkedHeaders(
        _ headers: [SignedHTTPRequest.Header], expectedHost: String, method: String
    ) throws(HubError) -> [SignedHTTPRequest.Header] {
        guard headers.count <= maxHeaders else {
            throw refused("it has \(headers.count) headers; at most \(maxHeaders) are accepted")
        }
        var kept: [SignedHTTPRequest.Header] = []
        var hosts: [String] = []
        for header in headers {
            let name = header.name.lowercased()
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
                throw refused("a header name \(quoted(header.name)) is not a valid HTTP header name")
            }
            guard header.value.utf8.count <= maxHeaderValueBytes,
                header.value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) })
            else {
                throw refused("the value of header \(header.name) is too long or holds control characters")
            }
            if name == "host" { hosts.append(header.value.trimmingCharacters(in: .whitespaces).lowercased()) }
            if name == "x-amz-target" {
                throw refused("it carries X-Amz-Target, which would make STS run another action")
            }
            if name == "content-type", method == "POST",
                !header.value.lowercased().hasPrefix("application/x-www-form-urlencoded")
            {
                throw refused("its Content-Type is \(quoted(header.value)), not application/x-www-form-urlencoded")
            }
            // The hub reads STS's plain XML answer: a JSON or compressed one would read as garbage.
            if name == "accept", header.value.lowercased().contains("json") {
                throw refused("its Accept header asks for JSON; the hub reads STS's XML answer")
            }
            if name == "accept-encoding", !["", "identity"].contains(header.value.lowercased()) {
                throw refused("its Accept-Encoding asks for a compressed answer; the hub reads it uncompressed")
            }
            if droppedHeaders.contains(name) { continue }
            kept.append(header)
        }
        guard hosts.count == 1, let host = hosts.first else {
            throw refused(hosts.isEmpty ? "it has no signed Host header" : "it has \(hosts.count) Host headers")
        }
        guard host == expectedHost else {
            throw refused(
                "it was signed for host \(quoted(host)), not for the agent type's STS endpoint \(quoted(expectedHost))")
        }
        return kept
    }

    /// Exactly one `Action` parameter in query and body together, and it is `GetCallerIdentity`.
    private static func checkAction(query: String, body: String) throws(HubError) {
        let actions = (formPairs(query) + formPairs(body)).filter { $0.name.lowercased() == "action" }
        guard actions.count == 1, let action = actions.first else {
            throw refused(
                actions.isEmpty
                    ? "it names no Action; only GetCallerIdentity is accepted"
                    : "it names \(actions.count) Action parameters; only one GetCallerIdentity is accepted")
        }
        guard action.name == "Action", action.value == "GetCallerIdentity" else {
            throw refused(
                "its action is \(quoted(action.name + "=" + action.value)); only Action=GetCallerIdentity is accepted")
        }
    }

    /// Decoded `name=value` pairs of a query string or form body (`+` is a space).
    static func formPairs(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// RFC 9110 token characters.
    private static func isTokenByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || "!#$%&'*+-.^_`|~".utf8.contains(b)
    }

    /// Agent-chosen text in a message: quoted, on one line, cut short.
    static func quoted(_ text: String) -> String {
        let line = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return "\"" + (line.count > 80 ? String(line.prefix(80)) + "…" : line) + "\""
    }

    private static func refused(_ reason: String) -> HubError {
        HubError(.identityRefused, "the signed GetCallerIdentity request is refused: \(reason)")
    }
}
