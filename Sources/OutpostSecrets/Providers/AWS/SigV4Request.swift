import Foundation

/// One HTTP request as AWS Signature Version 4 sees it: method, host, path,
/// query parameters, headers and body.
///
/// The path is what the request line carries; query parameters are decoded
/// name/value pairs (the signer and `url` encode them the one way AWS wants).
package struct SigV4Request: Sendable {
    package var method: String
    /// `http` or `https`; only used to build `url`.
    package var scheme: String
    /// The `Host` header: host name, plus `:port` when it is not the scheme's default.
    package var host: String
    /// The path as sent on the request line (`/`, `/example space/`).
    package var path: String
    /// Decoded query parameters, in any order.
    package var query: [(name: String, value: String)]
    /// Headers to send and sign; names in any case.
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(
        method: String, scheme: String = "https", host: String, path: String = "/",
        query: [(name: String, value: String)] = [], headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.path = path.isEmpty ? "/" : path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// A request to `url` (`https://sts.us-east-1.amazonaws.com/?Action=...`).
    /// - Throws: `.invalidConfiguration` when `url` is not an absolute http(s) URL.
    package init(
        method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) throws(SecretError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let hostName = components.host, !hostName.isEmpty
        else {
            throw SecretError(.invalidConfiguration, "\"\(url)\" is not an http:// or https:// URL")
        }
        let defaultPort = scheme == "https" ? 443 : 80
        let bracketed = hostName.contains(":") && !hostName.hasPrefix("[") ? "[\(hostName)]" : hostName
        let host = components.port.map { $0 == defaultPort ? bracketed : "\(bracketed):\($0)" } ?? bracketed
        let query = (components.queryItems ?? []).map { (name: $0.name, value: $0.value ?? "") }
        self.init(
            method: method, scheme: scheme, host: host, path: components.percentEncodedPath, query: query,
            headers: headers, body: body)
    }

    /// The URL to send the request to: the query in its order, encoded as SigV4 encodes it.
    package var url: String {
        let encodedQuery = query.map { pair in
            SigV4Signer.uriEncode(pair.name, encodeSlash: true) + "=" + SigV4Signer.uriEncode(pair.value, encodeSlash: true)
        }.joined(separator: "&")
        return "\(scheme)://\(host)\(path)" + (encodedQuery.isEmpty ? "" : "?\(encodedQuery)")
    }

    /// The value of header `name` (any case), if set.
    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
