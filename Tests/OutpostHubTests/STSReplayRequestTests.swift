import OutpostCore
import Testing

@testable import OutpostHub

@Suite("STS replay: what the hub sends for an agent's signed GetCallerIdentity")
struct STSReplayRequestTests {
    static let endpoint = "https://sts.amazonaws.com"
    static let body = "Action=GetCallerIdentity&Version=2011-06-15"
    static let authorization =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/sts/aws4_request, "
        + "SignedHeaders=content-type;host;x-amz-date, Signature=abc123"

    /// A well-formed signed POST; `change` edits it.
    static func request(
        url: String = "https://sts.amazonaws.com/", host: String = "sts.amazonaws.com", method: String = "POST",
        body: String = body, extra: [(String, String)] = [], signed: Bool = true
    ) -> SignedHTTPRequest {
        var headers = [
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Host", host),
            ("X-Amz-Date", "20261122T064100Z"),
        ]
        if signed { headers.append(("Authorization", authorization)) }
        headers += extra
        return SignedHTTPRequest(
            method: method, url: url, headers: headers.map { SignedHTTPRequest.Header(name: $0.0, value: $0.1) },
            body: body)
    }

    @Test("the replay goes to the configured endpoint with the agent's path, query, body and signed headers")
    func replayKeepsTheSignedParts() throws {
        let agent = Self.request(
            url: "https://sts.amazonaws.com/", extra: [("Connection", "keep-alive"), ("Content-Length", "43")])
        let replay = try STSReplayRequest(agent, endpoint: Self.endpoint)
        #expect(replay.method == "POST")
        #expect(replay.url == "https://sts.amazonaws.com/")
        #expect(replay.body == Array(Self.body.utf8))
        #expect(replay.headers.map(\.name) == ["Content-Type", "Host", "X-Amz-Date", "Authorization"])
    }

    @Test("the URL's scheme, host and port are the endpoint's, whatever the agent's URL says")
    func agentURLHostIgnored() throws {
        let agent = Self.request(url: "http://169.254.169.254/", host: "127.0.0.1:4566")
        let replay = try STSReplayRequest(agent, endpoint: "http://127.0.0.1:4566")
        #expect(replay.url == "http://127.0.0.1:4566/")
    }

    @Test("a presigned GET keeps its query")
    func presignedGet() throws {
        let query =
            "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIDEXAMPLE%2F20261122%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=abc"
        let agent = SignedHTTPRequest(
            method: "get", url: "https://sts.amazonaws.com/?" + query,
            headers: [.init(name: "host", value: "STS.amazonaws.com")], body: "")
        let replay = try STSReplayRequest(agent, endpoint: Self.endpoint)
        #expect(replay.method == "GET")
        #expect(replay.url == "https://sts.amazonaws.com/?" + query)
        #expect(replay.body.isEmpty)
    }

    static let refusals: [(String, SignedHTTPRequest, String)] = [
        (
            "signed for another host", request(host: "127.0.0.1:9999"),
            "it was signed for host \"127.0.0.1:9999\", not for the agent type's STS endpoint \"sts.amazonaws.com\""
        ),
        (
            "signed for another port", request(host: "sts.amazonaws.com:8443"),
            "it was signed for host \"sts.amazonaws.com:8443\", not for the agent type's STS endpoint \"sts.amazonaws.com\""
        ),
        (
            "no Host header",
            SignedHTTPRequest(
                method: "POST", url: "https://sts.amazonaws.com/",
                headers: [.init(name: "Authorization", value: authorization)], body: body),
            "it has no signed Host header"
        ),
        ("two Host headers", request(extra: [("Host", "evil.example")]), "it has 2 Host headers"),
        (
            "another action", request(body: "Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=y"),
            "its action is \"Action=AssumeRole\"; only Action=GetCallerIdentity is accepted"
        ),
        (
            "an action in the query as well", request(url: "https://sts.amazonaws.com/?Action=GetSessionToken"),
            "it names 2 Action parameters; only one GetCallerIdentity is accepted"
        ),
        (
            "a lower-case action", request(body: "action=GetCallerIdentity"),
            "its action is \"action=GetCallerIdentity\"; only Action=GetCallerIdentity is accepted"
        ),
        ("no action", request(body: "Version=2011-06-15"), "it names no Action; only GetCallerIdentity is accepted"),
        (
            "X-Amz-Target", request(extra: [("X-Amz-Target", "AWSSecurityTokenServiceV20110615.AssumeRole")]),
            "it carries X-Amz-Target, which would make STS run another action"
        ),
        ("PUT", request(method: "PUT"), "method \"PUT\" is not POST or GET"),
        (
            "a body too large", request(body: body + "&Pad=" + String(repeating: "x", count: 5000)),
            "the body has 5048 bytes; at most 4096 are accepted"
        ),
        ("a GET with a body", request(method: "GET"), "a GET request has a body"),
        ("another path", request(url: "https://sts.amazonaws.com/admin"), "the path \"/admin\" is not STS's \"/\""),
        (
            "not signed", request(signed: false),
            "it is not signed (no Authorization header, no X-Amz-Signature parameter)"
        ),
        (
            "a JSON body", request(extra: [("content-type", "application/json")]),
            "its Content-Type is \"application/json\", not application/x-www-form-urlencoded"
        ),
        (
            "a header with a line break", request(extra: [("X-Evil", "a\r\nHost: evil")]),
            "the value of header X-Evil is too long or holds control characters"
        ),
        (
            "a JSON answer asked for", request(extra: [("Accept", "application/json")]),
            "its Accept header asks for JSON; the hub reads STS's XML answer"
        ),
        (
            "a compressed answer asked for", request(extra: [("Accept-Encoding", "gzip")]),
            "its Accept-Encoding asks for a compressed answer; the hub reads it uncompressed"
        ),
        ("a header name with a space", request(extra: [("Bad Name", "x")]), "a header name \"Bad Name\" is not a valid HTTP header name"),
    ]

    @Test("requests that are not a plain signed GetCallerIdentity for the endpoint are refused before sending", arguments: refusals)
    func refused(_ label: String, _ request: SignedHTTPRequest, _ reason: String) {
        do {
            _ = try STSReplayRequest(request, endpoint: Self.endpoint)
            Issue.record("\(label): accepted")
        } catch {
            #expect(error.code == .identityRefused, "\(label)")
            #expect(error.message == "the signed GetCallerIdentity request is refused: \(reason)", "\(label)")
        }
    }

    @Test("endpoint host and origin: the scheme's default port is left out, others kept")
    func endpointParts() throws {
        #expect(try STSReplayRequest.endpointParts("https://sts.amazonaws.com").host == "sts.amazonaws.com")
        #expect(try STSReplayRequest.endpointParts("https://STS.amazonaws.com:443/").origin == "https://STS.amazonaws.com")
        #expect(try STSReplayRequest.endpointParts("http://127.0.0.1:5000").host == "127.0.0.1:5000")
        #expect(try STSReplayRequest.endpointParts("http://[::1]:5000").host == "[::1]:5000")
    }
}

@Suite("STS answers to GetCallerIdentity")
struct STSCallerIdentityAnswerTests {
    static let success = """
        <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <GetCallerIdentityResult>
            <Arn>arn:aws:sts::123456789012:assumed-role/runner/i-0123456789abcdef0</Arn>
            <UserId>AROAEXAMPLE:i-0123456789abcdef0</UserId>
            <Account>123456789012</Account>
          </GetCallerIdentityResult>
          <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
        </GetCallerIdentityResponse>
        """

    static func error(_ code: String, _ message: String) -> String {
        """
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error>
          <RequestId>x</RequestId>
        </ErrorResponse>
        """
    }

    @Test("a 200 answer gives Account, Arn and UserId")
    func success() throws {
        let answer = try STSCallerIdentityAnswer(status: 200, body: Self.success, endpoint: "sts.amazonaws.com", redact: [])
        #expect(answer.account == "123456789012")
        #expect(answer.arn == "arn:aws:sts::123456789012:assumed-role/runner/i-0123456789abcdef0")
        #expect(answer.userID == "AROAEXAMPLE:i-0123456789abcdef0")
    }

    static let failures: [(Int, String, HubError.Code, String)] = [
        (
            403, error("SignatureDoesNotMatch", "The request signature we calculated does not match."),
            .identityRefused,
            "STS refused the agent's signed GetCallerIdentity request: HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match."
        ),
        (
            403, error("InvalidClientTokenId", "The security token included in the request is invalid."), .identityRefused,
            "STS refused the agent's signed GetCallerIdentity request: HTTP 403 InvalidClientTokenId: The security token included in the request is invalid."
        ),
        (
            400, error("Throttling", "Rate exceeded"), .stsUnavailable,
            "the STS endpoint sts.amazonaws.com failed (HTTP 400 Throttling: Rate exceeded); try again later"
        ),
        (503, "", .stsUnavailable, "the STS endpoint sts.amazonaws.com failed (HTTP 503); try again later"),
        (
            302, "", .stsUnavailable,
            "the STS endpoint sts.amazonaws.com answered a redirect (HTTP 302), which the hub does not follow"
        ),
        (
            200, "<html>hello</html>", .stsUnavailable,
            "the STS endpoint sts.amazonaws.com answered HTTP 200 without a GetCallerIdentityResult holding Account and Arn"
        ),
    ]

    @Test("error answers become a refusal naming STS's code, or a retryable failure", arguments: failures)
    func failure(_ status: Int, _ body: String, _ code: HubError.Code, _ message: String) {
        do {
            _ = try STSCallerIdentityAnswer(status: status, body: body, endpoint: "sts.amazonaws.com", redact: [])
            Issue.record("HTTP \(status) accepted")
        } catch {
            #expect(error.code == code)
            #expect(error.message == message)
        }
    }

    @Test("a session token STS echoes in its message is cut out")
    func redactsToken() {
        let token = "FQoGZXIvYXdzEXAMPLETOKEN-canary-\(UInt32.random(in: 0...UInt32.max))"
        let body = Self.error("SignatureDoesNotMatch", "Canonical request: x-amz-security-token:\(token)\n...")
        do {
            _ = try STSCallerIdentityAnswer(status: 403, body: body, endpoint: "sts.amazonaws.com", redact: [token])
            Issue.record("accepted")
        } catch {
            #expect(!error.message.contains(token))
            #expect(error.message.contains("x-amz-security-token:[REDACTED]"))
        }
    }
}
