import Crypto
package import Foundation

/// What the fake STS checks in an AWS subject token before it trusts it, the way
/// Google's STS does by sending it to AWS: the serialized request's structure
/// (`{"url", "method", "headers": [{"key", "value"}]}`, URL-encoded), that it is an
/// `sts:GetCallerIdentity` call bound to the pool provider, and its SigV4 signature,
/// recomputed here from the test's AWS keys.
///
/// Written from AWS's documented algorithm on its own, not with the provider's
/// `SigV4Signer`, so that the two check each other.
package enum FakeGCPAWSSignature {
    package struct Problem: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    /// The caller's ARN when `subjectToken` is a valid signed request for `audience`.
    static func verify(
        _ subjectToken: String, audience: String, keys: [String: FakeGCPSecretManager.AWSKey], now: Date = Date()
    ) -> Result<String, Problem> {
        do {
            return .success(try check(subjectToken, audience: audience, keys: keys, now: now))
        } catch let problem as Problem {
            return .failure(problem)
        } catch {
            return .failure(Problem("\(error)"))
        }
    }

    private static func check(
        _ subjectToken: String, audience: String, keys: [String: FakeGCPSecretManager.AWSKey], now: Date
    ) throws -> String {
        guard let json = subjectToken.removingPercentEncoding,
            let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let urlText = object["url"] as? String, let method = object["method"] as? String,
            let headerList = object["headers"] as? [[String: String]]
        else { throw Problem("The AWS subject token is not a URL-encoded JSON signed request.") }
        guard method == "POST" else { throw Problem("The AWS request must be a POST.") }
        guard let url = URLComponents(string: urlText), url.scheme == "https", let host = url.host else {
            throw Problem("The AWS request URL is not an https URL.")
        }
        let labels = host.split(separator: ".")
        let urlRegion: String
        if host == "sts.amazonaws.com" {
            urlRegion = "us-east-1"
        } else if labels.count == 4, labels[0] == "sts", labels[2] == "amazonaws", labels[3] == "com" {
            urlRegion = String(labels[1])
        } else {
            throw Problem("The AWS request is not for AWS STS (host \(host)).")
        }
        let query = (url.queryItems ?? []).map { ($0.name, $0.value ?? "") }
        guard query.contains(where: { $0 == ("Action", "GetCallerIdentity") }),
            query.contains(where: { $0 == ("Version", "2011-06-15") })
        else { throw Problem("The AWS request is not sts:GetCallerIdentity.") }
        var headers: [String: String] = [:]
        for entry in headerList {
            guard let key = entry["key"]?.lowercased(), let value = entry["value"], headers[key] == nil else {
                throw Problem("The AWS request's headers are malformed.")
            }
            headers[key] = value
        }
        guard headers["host"] == host else { throw Problem("The AWS request's host header does not match its URL.") }
        guard headers["x-goog-cloud-target-resource"] == audience else {
            throw Problem("The AWS request is not bound to this provider (x-goog-cloud-target-resource).")
        }
        // AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=a;b, Signature=hex
        guard let authorization = headers["authorization"], authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            throw Problem("The AWS request is not signed with AWS4-HMAC-SHA256.")
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else { throw Problem("The AWS request's Authorization header is incomplete.") }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[3] == "sts", scope[4] == "aws4_request" else {
            throw Problem("The AWS signature's scope is not sts.")
        }
        guard scope[2] == urlRegion else { throw Problem("The AWS signature's region does not match the URL.") }
        guard let key = keys[scope[0]] else { throw Problem("The AWS access key is not trusted by this provider.") }
        let signed = signedList.split(separator: ";").map(String.init)
        guard signed == signed.sorted(), signed.contains("host"), signed.contains("x-amz-date") else {
            throw Problem("The AWS signature must cover host and x-amz-date.")
        }
        if let token = key.sessionToken {
            guard headers["x-amz-security-token"] == token, signed.contains("x-amz-security-token") else {
                throw Problem("The AWS session token is missing or not signed.")
            }
        }
        guard let amzDate = headers["x-amz-date"], amzDate.hasPrefix(scope[1]), let date = parseAMZDate(amzDate),
            abs(date.timeIntervalSince(now)) < 15 * 60
        else { throw Problem("The AWS request's x-amz-date is malformed or more than 15 minutes off.") }

        var canonicalHeaders = ""
        for name in signed {
            guard let value = headers[name] else { throw Problem("Signed header \(name) is missing.") }
            canonicalHeaders += "\(name):\(value.trimmingCharacters(in: .whitespaces))\n"
        }
        let encodedQuery: [(name: String, value: String)] = query.map { pair in (name: encode(pair.0), value: encode(pair.1)) }
        let sortedQuery = encodedQuery.sorted { left, right in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        let canonicalQuery = sortedQuery.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
        let path = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
        let canonical = [
            "POST", path, canonicalQuery, canonicalHeaders, signedList, hex(SHA256.hash(data: Data())),
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope[1...4].joined(separator: "/"),
            hex(SHA256.hash(data: Data(canonical.utf8))),
        ].joined(separator: "\n")
        var signingKey = SymmetricKey(data: Data("AWS4\(key.secretAccessKey)".utf8))
        for part in [scope[1], scope[2], "sts", "aws4_request"] {
            signingKey = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: signingKey)))
        }
        let expected = hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey))
        guard expected == signature else {
            throw Problem("The AWS request signature we calculated does not match the signature you provided.")
        }
        return key.arn
    }

    /// `verify` with one key pair (for tests of the subject token itself).
    package static func verify(
        _ subjectToken: String, audience: String, accessKeyID: String, secretAccessKey: String, sessionToken: String?,
        now: Date
    ) -> Result<String, Problem> {
        let key = FakeGCPSecretManager.AWSKey(secretAccessKey: secretAccessKey, sessionToken: sessionToken, arn: "arn:test")
        return verify(subjectToken, audience: audience, keys: [accessKeyID: key], now: now)
    }

    private static func parseAMZDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: text)
    }

    private static func encode(_ text: String) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
