import Crypto
package import Foundation

/// AWS Signature Version 4, written from AWS's documented algorithm
/// ("Create a signed AWS API request"): canonical request, string to sign,
/// signing key derived by an HMAC-SHA256 chain, and the `Authorization` header
/// or, for presigned URLs, the `X-Amz-*` query parameters.
///
/// Checked against AWS's published test suite (`AWSSigV4VectorTests`).
/// Reused by the agent to sign `sts:GetCallerIdentity` for STS-based naming.
package struct SigV4Signer: Sendable {
    package static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash S3 accepts in presigned URLs.
    package static let unsignedPayload = "UNSIGNED-PAYLOAD"

    package var credentials: AWSCredentials
    package var region: String
    /// The signing name of the service (`secretsmanager`, `sts`, `s3`).
    package var service: String
    /// Normalize the path and URI-encode it once more, as every service but S3 expects.
    package var normalizesPath: Bool

    package init(credentials: AWSCredentials, region: String, service: String, normalizesPath: Bool? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = normalizesPath ?? (service != "s3")
    }

    /// A signed request and the intermediate strings (compared with AWS's test vectors).
    package struct Signed: Sendable {
        /// The request to send: headers (or, presigned, query) completed with the signature.
        package var request: SigV4Request
        package var canonicalRequest: String
        package var stringToSign: String
        /// Hex HMAC-SHA256 of the string to sign.
        package var signature: String
        /// The `Authorization` header value (empty for presigned requests).
        package var authorization: String
    }

    /// Signs `request` with an `Authorization` header.
    ///
    /// Adds `Host`, `X-Amz-Date` (from `date`, unless the request has one) and
    /// `X-Amz-Security-Token` for temporary credentials; every header of the
    /// request is signed, so add only headers that reach the server unchanged.
    /// - Parameter payloadHash: overrides the hex SHA-256 of the body (`UNSIGNED-PAYLOAD`).
    package func sign(_ request: SigV4Request, date: Date = Date(), payloadHash: String? = nil) -> Signed {
        var request = request
        if request.header("host") == nil { request.headers.append((name: "Host", value: request.host)) }
        if request.header("x-amz-date") == nil {
            request.headers.append((name: "X-Amz-Date", value: Self.amzDate(date)))
        }
        if let token = credentials.sessionToken, request.header("x-amz-security-token") == nil {
            request.headers.append((name: "X-Amz-Security-Token", value: token))
        }
        let timestamp = request.header("x-amz-date") ?? Self.amzDate(date)
        let hash = payloadHash ?? Self.hexSHA256(request.body)
        var signed = signature(for: request, timestamp: timestamp, payloadHash: hash)
        signed.authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(timestamp)), "
            + "SignedHeaders=\(Self.signedHeaders(request.headers)), Signature=\(signed.signature)"
        signed.request.headers.append((name: "Authorization", value: signed.authorization))
        return signed
    }

    /// Signs `request` in its query string (a presigned URL valid for `expires` seconds).
    ///
    /// Signs the `Host` header plus any headers of the request (which the
    /// eventual sender must then send unchanged).
    package func presign(
        _ request: SigV4Request, date: Date = Date(), expires: Int, payloadHash: String? = nil
    ) -> Signed {
        var request = request
        if request.header("host") == nil { request.headers.append((name: "Host", value: request.host)) }
        let timestamp = Self.amzDate(date)
        request.query.append(contentsOf: [
            (name: "X-Amz-Algorithm", value: Self.algorithm),
            (name: "X-Amz-Credential", value: "\(credentials.accessKeyID)/\(scope(timestamp))"),
            (name: "X-Amz-Date", value: timestamp),
            (name: "X-Amz-Expires", value: String(expires)),
            (name: "X-Amz-SignedHeaders", value: Self.signedHeaders(request.headers)),
        ])
        if let token = credentials.sessionToken {
            request.query.append((name: "X-Amz-Security-Token", value: token))
        }
        var signed = signature(
            for: request, timestamp: timestamp, payloadHash: payloadHash ?? Self.hexSHA256(request.body))
        signed.request.query.append((name: "X-Amz-Signature", value: signed.signature))
        return signed
    }

    // MARK: The algorithm

    /// Canonical request → string to sign → signature, for a request whose headers are final.
    func signature(for request: SigV4Request, timestamp: String, payloadHash: String) -> Signed {
        let canonical = canonicalRequest(request, payloadHash: payloadHash)
        let toSign = [Self.algorithm, timestamp, scope(timestamp), Self.hexSHA256(Array(canonical.utf8))]
            .joined(separator: "\n")
        let key = Self.signingKey(
            secret: credentials.secretAccessKey, date: String(timestamp.prefix(8)), region: region, service: service)
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
        return Signed(
            request: request, canonicalRequest: canonical, stringToSign: toSign, signature: signature, authorization: "")
    }

    /// `METHOD\nURI\nQUERY\nheader:value\n...\n\nsigned;headers\npayloadhash`
    func canonicalRequest(_ request: SigV4Request, payloadHash: String) -> String {
        let path = normalizesPath ? Self.uriEncode(Self.normalize(request.path), encodeSlash: false) : request.path
        return [
            request.method.uppercased(),
            path,
            Self.canonicalQueryString(request.query),
            Self.canonicalHeaders(request.headers),
            Self.signedHeaders(request.headers),
            payloadHash,
        ].joined(separator: "\n")
    }

    /// `yyyymmdd/region/service/aws4_request`
    func scope(_ timestamp: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
    static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(secret)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// Names and values URI-encoded, sorted by name then value, joined with `&`.
    static func canonicalQueryString(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { pair in
            (name: uriEncode(pair.name, encodeSlash: true), value: uriEncode(pair.value, encodeSlash: true))
        }
        // Encoded strings are ASCII: String comparison is byte order here.
        let sorted = encoded.sorted { lhs, rhs in lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name }
        return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// Lower-cased names, sorted; values trimmed with inner whitespace runs
    /// collapsed; repeated headers joined with commas. Each line ends in `\n`.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> String {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                .joined(separator: " ")
            merged[name.lowercased(), default: []].append(collapsed)
        }
        return merged.keys.sorted().map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
    }

    static func signedHeaders(_ headers: [(name: String, value: String)]) -> String {
        Set(headers.map { $0.name.lowercased() }).sorted().joined(separator: ";")
    }

    /// RFC 3986 encoding of every byte but the unreserved `A-Z a-z 0-9 - . _ ~`
    /// (and `/` unless `encodeSlash`), with upper-case hex.
    static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved[Int(byte)] || (byte == 0x2F && !encodeSlash) {
                out.append(byte)
            } else {
                out.append(0x25)  // %
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3986 dot-segment removal plus collapsing of empty segments; keeps a trailing slash.
    static func normalize(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        guard !segments.isEmpty else { return "/" }
        let trailing = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
        return "/" + segments.joined(separator: "/") + (trailing ? "/" : "")
    }

    // MARK: Helpers

    /// `A-Z a-z 0-9 - . _ ~`, indexed by byte.
    private static let unreserved: [Bool] = (0..<256).map { value in
        let byte = UInt8(value)
        return (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
            || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
    }

    static func hexSHA256(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }

    /// `20150830T123600Z` (UTC), the format of `X-Amz-Date`.
    package static func amzDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)\(two(month))\(two(day))T\(two(secondOfDay / 3600))\(two(secondOfDay / 60 % 60))"
            + "\(two(secondOfDay % 60))Z"
    }
}
