import Foundation
import Testing

@testable import OutpostSecrets

/// One case of AWS's Signature Version 4 test suite (aws-sig-v4-test-suite,
/// 2015 edition): the request (`.req`), and the expected `Authorization`
/// (`.authz`), plus the canonical request (`.creq`) and string to sign (`.sts`)
/// where transcribed.
struct SigV4Vector: Sendable, CustomTestStringConvertible {
    var name: String
    var method = "GET"
    var path = "/"
    var query: [(name: String, value: String)] = []
    /// Headers besides `Host` and `X-Amz-Date`, which every case has.
    var headers: [(name: String, value: String)] = []
    var body = ""
    var sessionToken: String?
    var signedHeaders = "host;x-amz-date"
    var signature: String
    var canonicalRequest: String?
    var stringToSign: String?

    var testDescription: String { name }
}

@Suite("AWS SigV4 signing against AWS's published test vectors")
struct AWSSigV4VectorTests {
    static let credentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    /// 2015-08-30T12:36:00Z, the suite's signing time.
    static let date = Date(timeIntervalSince1970: 1_440_938_160)
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let stsToken =
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRq"
        + "TflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9H"
        + "FvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYv"
        + "KTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
    static let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    static let vectors: [SigV4Vector] = [
        SigV4Vector(
            name: "get-vanilla", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
            stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"),
        SigV4Vector(
            name: "get-vanilla-query", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SigV4Vector(
            name: "get-vanilla-empty-query-key", query: [("Param1", "value1")],
            signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
        SigV4Vector(
            name: "get-vanilla-query-order-key", query: [("Param1", "value2"), ("Param1", "Value1")],
            signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
            canonicalRequest: "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
                + "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
            stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89"),
        SigV4Vector(
            name: "get-vanilla-query-order-key-case", query: [("Param2", "value2"), ("Param1", "value1")],
            signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        SigV4Vector(
            name: "get-vanilla-query-order-value", query: [("Param1", "value2"), ("Param1", "value1")],
            signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
            canonicalRequest: "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\n"
                + "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
            stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606"),
        SigV4Vector(
            name: "get-vanilla-query-unreserved", query: [(unreserved, unreserved)],
            signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
        SigV4Vector(
            name: "get-vanilla-utf8-query", query: [("\u{1234}", "bar")],
            signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        SigV4Vector(
            name: "get-unreserved", path: "/" + unreserved,
            signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        SigV4Vector(
            name: "get-utf8", path: "/\u{1234}",
            signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        SigV4Vector(
            name: "get-header-key-duplicate",
            headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        // The suite's canonical request joins the folded lines with commas; sent here as repeated headers.
        SigV4Vector(
            name: "get-header-value-multiline",
            headers: [("My-Header1", "value1"), ("My-Header1", "value2"), ("My-Header1", "value3")],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790",
            canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1,value2,value3\n"
                + "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n\(emptyHash)",
            stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "b7b6cbfd8a0430b78891e986784da2630c8a135a8595cec25b26ea94f926ee55"),
        SigV4Vector(
            name: "get-header-value-order",
            headers: [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
        SigV4Vector(
            name: "get-header-value-trim", headers: [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
            signedHeaders: "host;my-header1;my-header2;x-amz-date",
            signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        SigV4Vector(
            name: "normalize-path/get-relative", path: "/example/..",
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SigV4Vector(
            name: "normalize-path/get-relative-relative", path: "/example1/example2/../..",
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SigV4Vector(
            name: "normalize-path/get-slash", path: "//",
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SigV4Vector(
            name: "normalize-path/get-slash-dot-slash", path: "/./",
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SigV4Vector(
            name: "normalize-path/get-slash-pointless-dot", path: "/./example",
            signature: "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"),
        SigV4Vector(
            name: "normalize-path/get-slashes", path: "//example//",
            signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
        SigV4Vector(
            name: "normalize-path/get-space", path: "/example space/",
            signature: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
        SigV4Vector(
            name: "post-vanilla", method: "POST",
            signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        SigV4Vector(
            name: "post-header-key-case", method: "POST",
            signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        SigV4Vector(
            name: "post-header-key-sort", method: "POST", headers: [("My-Header1", "value1")],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
        SigV4Vector(
            name: "post-header-value-case", method: "POST", headers: [("My-Header1", "VALUE1")],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        SigV4Vector(
            name: "post-vanilla-empty-query-value", method: "POST", query: [("Param1", "value1")],
            signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
        SigV4Vector(
            name: "post-vanilla-query", method: "POST", query: [("Param1", "value1")],
            signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
        SigV4Vector(
            name: "post-sts-token/post-sts-header-before", method: "POST", sessionToken: stsToken,
            signedHeaders: "host;x-amz-date;x-amz-security-token",
            signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
        SigV4Vector(
            name: "post-x-www-form-urlencoded", method: "POST",
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "Param1=value1",
            signedHeaders: "content-type;host;x-amz-date",
            signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"),
        SigV4Vector(
            name: "post-x-www-form-urlencoded-parameters", method: "POST",
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf8")], body: "Param1=value1",
            signedHeaders: "content-type;host;x-amz-date",
            signature: "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
            canonicalRequest: "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\n"
                + "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
                + "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c"),
    ]

    @Test("signs each request of the suite exactly as AWS does", arguments: vectors)
    func vector(_ vector: SigV4Vector) {
        var credentials = Self.credentials
        credentials.sessionToken = vector.sessionToken
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        let request = SigV4Request(
            method: vector.method, host: "example.amazonaws.com", path: vector.path, query: vector.query,
            headers: [(name: "Host", value: "example.amazonaws.com")] + vector.headers
                + [(name: "X-Amz-Date", value: "20150830T123600Z")],
            body: Array(vector.body.utf8))
        let signed = signer.sign(request, date: Self.date)
        if let canonicalRequest = vector.canonicalRequest { #expect(signed.canonicalRequest == canonicalRequest) }
        if let stringToSign = vector.stringToSign { #expect(signed.stringToSign == stringToSign) }
        #expect(signed.signature == vector.signature)
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")
        #expect(signed.request.header("authorization") == signed.authorization)
    }

    @Test("post-sts-header-after: a token added after signing leaves post-vanilla's signature")
    func tokenAfterSigning() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        var signed = signer.sign(SigV4Request(method: "POST", host: "example.amazonaws.com"), date: Self.date)
        signed.request.headers.append((name: "X-Amz-Security-Token", value: Self.stsToken))
        #expect(signed.signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    @Test("adds Host, X-Amz-Date from the clock and the session token when the request has none")
    func addsHeaders() throws {
        var credentials = Self.credentials
        credentials.sessionToken = Self.stsToken
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        let request = try SigV4Request(method: "POST", url: "https://example.amazonaws.com/")
        let signed = signer.sign(request, date: Self.date)
        #expect(signed.request.header("host") == "example.amazonaws.com")
        #expect(signed.request.header("x-amz-date") == "20150830T123600Z")
        #expect(signed.request.header("x-amz-security-token") == Self.stsToken)
        #expect(signed.signature == "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead")
    }

    @Test("presigns a URL like AWS's documented S3 query-string example")
    func presignedURL() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "s3")
        let request = try SigV4Request(method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt")
        let signed = signer.presign(
            request, date: Date(timeIntervalSince1970: 1_369_353_600), expires: 86_400,
            payloadHash: SigV4Signer.unsignedPayload)
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                + "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
        #expect(signed.signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        #expect(
            signed.request.url
                == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test(
        "formats X-Amz-Date in UTC",
        arguments: [
            (0.0, "19700101T000000Z"), (1_440_938_160, "20150830T123600Z"), (951_782_400, "20000229T000000Z"),
            (4_102_444_799, "20991231T235959Z"), (4_107_542_399, "21000228T235959Z"), (4_107_542_400, "21000301T000000Z"), (1_709_251_199, "20240229T235959Z"),
        ])
    func amzDate(seconds: Double, expected: String) {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test("reads host, port and query out of a URL")
    func requestFromURL() throws {
        let request = try SigV4Request(method: "GET", url: "http://127.0.0.1:5000/a%20b?X=1&y=%2F")
        #expect(request.host == "127.0.0.1:5000")
        #expect(request.path == "/a%20b")
        #expect(request.query.map(\.name) == ["X", "y"])
        #expect(request.query.map(\.value) == ["1", "/"])
        #expect(try SigV4Request(method: "GET", url: "https://sts.amazonaws.com:443/").host == "sts.amazonaws.com")
        #expect(throws: SecretError.self) { try SigV4Request(method: "GET", url: "ftp://x/") }
    }
}
