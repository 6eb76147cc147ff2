import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import OutpostClient
import OutpostCore
import OutpostHub
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

#if canImport(Glibc)
    import Glibc
#endif

/// Both halves of the `aws-sts` name policy against moto with signature checking
/// on: the agent signs `GetCallerIdentity` (`AWSCallerIdentityRequest`), the
/// hub replays it (`STSCallerIdentityVerifier`) and names the agent.
@Suite("aws-sts naming: agent-signed GetCallerIdentity verified by the hub, against moto", .motoAvailable, .moto, .serialized)
struct AWSCallerIdentityTests {
    var moto: AWSMoto { get throws { try #require(AWSMoto.current) } }

    /// The hub's kind of client: no redirects.
    static let hubHTTP = STSCallerIdentityVerifier.makeHTTPClient()
    static let verifier = STSCallerIdentityVerifier(client: hubHTTP)
    static let denyAll = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#
    static let instanceID = "i-0123456789abcdef0"

    func rules(account: String = AWSMoto.account, roles: [String] = []) throws -> AWSNamingRules {
        AWSNamingRules(accountID: account, allowedRoles: roles, stsEndpoint: try moto.url)
    }

    /// The error `verify` throws, or `nil` (recorded as an issue) when it accepts.
    func refusal(_ request: SignedHTTPRequest, _ rules: AWSNamingRules) async -> HubError? {
        do {
            let identity = try await Self.verifier.verify(request, rules: rules)
            Issue.record("accepted as \(identity.arn)")
            return nil
        } catch {
            return error
        }
    }

    /// Temporary credentials of a session `sessionName` of a new role `roleName` (prefixed).
    func assumedRole(_ roleName: String, sessionName: String) async throws -> (role: String, credentials: AWSCredentials) {
        let moto = try moto
        let base = try await moto.createUser(
            "\(roleName)-base",
            policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#)
        let trust = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\(moto.userARN("\(roleName)-base"))"},\
            "Action":"sts:AssumeRole"}]}
            """
        let roleARN = try await moto.createRole(roleName, trust: trust, policy: Self.denyAll)
        let sts = AWSSTS(client: moto.client, endpoint: moto.url)
        let credentials = try await sts.assumeRole(
            roleARN: roleARN, sessionName: sessionName, externalID: nil, durationSeconds: 900, credentials: base)
        #expect(credentials.sessionToken != nil)
        return ("\(moto.prefix)-\(roleName)", credentials)
    }

    @Test("real processes: an agent with role credentials registers under its role session name; another account's type makes it exit 1")
    func processes() async throws {
        let moto = try moto
        let (role, credentials) = try await assumedRole("fleet", sessionName: Self.instanceID)
        let directory = try TemporaryDirectory(prefix: "outpost-sts")
        defer { directory.remove() }
        let hub = try await HubHarness(dataDirectory: directory.file("hub"))
        defer { hub.process.signal(SIGKILL) }
        let ec2 = try await hub.client.createAgentType(
            CreateAgentTypeRequest(
                name: "ec2", namePolicy: .awsSTS,
                aws: AWSNamingRules(accountID: AWSMoto.account, allowedRoles: [role], stsEndpoint: moto.url)))
        let elsewhere = try await hub.client.createAgentType(
            CreateAgentTypeRequest(
                name: "elsewhere", namePolicy: .awsSTS,
                aws: AWSNamingRules(accountID: "111111111111", stsEndpoint: moto.url)))
        let environment = ChildProcess.baseEnvironment([
            "AWS_ACCESS_KEY_ID": credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
            "AWS_SESSION_TOKEN": credentials.sessionToken ?? "", "AWS_REGION": "us-east-1",
        ])
        /// The agent signs for moto's endpoint (the signature covers the host), named by
        /// its config variable; the hub sends the request to the type's endpoint only.
        func agent(_ token: String, _ dir: String) throws -> ChildProcess {
            try ChildProcess(
                ["agent", "start", "--hub", hub.url, "--token", token, "--work-dir", directory.file(dir)],
                environment: environment.merging(["OUTPOST_AGENT_AWS_STS_ENDPOINT": moto.url]) { a, _ in a })
        }

        let named = try agent(ec2.registrationToken, "named")
        defer { named.signal(SIGKILL) }
        let online = await eventually(timeout: .seconds(30)) {
            ((try? await hub.client.listAgents()) ?? []).contains { $0.name == Self.instanceID && $0.type == "ec2" }
        }
        #expect(online, "agent stderr:\n\(named.stderr)")
        let record = try await hub.client.listAgents().first { $0.name == Self.instanceID }
        #expect(record?.awsARN == "arn:aws:sts::\(AWSMoto.account):assumed-role/\(role)/\(Self.instanceID)")

        let refused = try agent(elsewhere.registrationToken, "refused")
        defer { refused.signal(SIGKILL) }
        let code = await refused.waitForExit(timeout: .seconds(30))
        #expect(code == 1, "stderr:\n\(refused.stderr)")
        #expect(refused.stderr.contains("AWS account \(AWSMoto.account) is not the agent type's account 111111111111"))
        expectAbsent(credentials.secretAccessKey, in: refused.stderr, "refused.stderr")
        expectAbsent(credentials.secretAccessKey, in: hub.process.stderr, "hub.process.stderr")
    }

    @Test("an IAM user's keys from the environment (no permission at all) name the agent after the user")
    func iamUser() async throws {
        let moto = try moto
        let keys = try await moto.createUser("agentuser", policy: Self.denyAll)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("sts-\(UUID().uuidString)").path
        let request = try await AWSCallerIdentityRequest.signedCallerIdentity(
            endpoint: moto.url, region: nil,
            environment: AWSTest.isolatedEnvironment(
                ["AWS_ACCESS_KEY_ID": keys.accessKeyID, "AWS_SECRET_ACCESS_KEY": keys.secretAccessKey], home: home),
            http: moto.client.http)
        #expect(request.method == "POST")
        #expect(request.url == moto.url + "/")
        #expect(request.body == "Action=GetCallerIdentity&Version=2011-06-15")
        #expect(request.headers.map(\.name) == ["Content-Type", "Host", "X-Amz-Date", "Authorization"])
        #expect(request.headers.first { $0.name == "Authorization" }?.value.contains("/us-east-1/sts/aws4_request") == true)

        let identity = try await Self.verifier.verify(request, rules: try rules())
        #expect(identity.account == AWSMoto.account)
        #expect(identity.arn == moto.userARN("agentuser"))
        #expect(identity.role == nil && identity.sessionName == nil)
        #expect(identity.agentName == "\(moto.prefix)-agentuser")
    }

    @Test("a role session (AssumeRole) of an allowed role is named after its session name")
    func assumedRoleSession() async throws {
        let moto = try moto
        let (role, credentials) = try await assumedRole("runner", sessionName: Self.instanceID)
        // Through the chain, as the agent does it: temporary keys in the environment.
        let request = try await AWSCallerIdentityRequest.signedCallerIdentity(
            endpoint: moto.url, region: "us-east-1",
            environment: [
                "AWS_ACCESS_KEY_ID": credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
                "AWS_SESSION_TOKEN": try #require(credentials.sessionToken), "AWS_EC2_METADATA_DISABLED": "true",
            ], http: moto.client.http)
        #expect(request.headers.contains { $0.name == "X-Amz-Security-Token" && $0.value == credentials.sessionToken })

        let identity = try await Self.verifier.verify(request, rules: try rules(roles: ["deployer", role]))
        #expect(identity.arn == "arn:aws:sts::\(AWSMoto.account):assumed-role/\(role)/\(Self.instanceID)")
        #expect(identity.role == role)
        #expect(identity.sessionName == Self.instanceID)
        #expect(identity.agentName == Self.instanceID)
        #expect(identity.userID.hasSuffix(":\(Self.instanceID)"))
    }

    @Test("a caller of another account is refused, naming both accounts")
    func wrongAccount() async throws {
        let moto = try moto
        let keys = try await moto.createUser("elsewhere", policy: Self.denyAll)
        let request = try AWSCallerIdentityRequest.signed(credentials: keys, region: "us-east-1", endpoint: moto.url)
        let error = try #require(await refusal(request, try rules(account: "111111111111")))
        #expect(error.code == .identityRefused)
        #expect(error.message == "AWS account \(AWSMoto.account) is not the agent type's account 111111111111")
    }

    @Test("a session of a role that is not allowed is refused, naming the role and the allowed ones")
    func roleNotAllowed() async throws {
        let (role, credentials) = try await assumedRole("intruder", sessionName: Self.instanceID)
        let request = try AWSCallerIdentityRequest.signed(credentials: credentials, region: "us-east-1", endpoint: try moto.url)
        let error = try #require(await refusal(request, try rules(roles: ["deployer", "runner"])))
        #expect(error.code == .identityRefused)
        #expect(error.message == "role \"\(role)\" is not among the agent type's roles: deployer, runner")
    }

    @Test("a tampered signature or body is refused with STS's error code, the session token never shown")
    func tampered() async throws {
        let (role, credentials) = try await assumedRole("tampered", sessionName: Self.instanceID)
        let token = try #require(credentials.sessionToken)
        let request = try AWSCallerIdentityRequest.signed(credentials: credentials, region: "us-east-1", endpoint: try moto.url)
        let rules = try rules(roles: [role])

        var badSignature = request
        let index = try #require(badSignature.headers.firstIndex { $0.name == "Authorization" })
        let authorization = badSignature.headers[index].value
        badSignature.headers[index].value =
            String(authorization.dropLast()) + (authorization.hasSuffix("0") ? "1" : "0")
        var badBody = request
        badBody.body = "Action=GetCallerIdentity&Version=2011-06-16"

        for tampered in [badSignature, badBody] {
            let error = try #require(await refusal(tampered, rules))
            #expect(error.code == .identityRefused)
            #expect(error.message.hasPrefix("STS refused the agent's signed GetCallerIdentity request: HTTP 403 SignatureDoesNotMatch"))
            expectAbsent(token, in: error.message, "error.message")
            expectAbsent(credentials.secretAccessKey, in: error.message, "error.message")
        }
        // The untouched request still passes: the refusals came from the changes.
        #expect(try await Self.verifier.verify(request, rules: rules).agentName == Self.instanceID)
    }

    @Test("a request signed for another host is refused without the hub contacting that host")
    func signedForAnotherHost() async throws {
        let moto = try moto
        let keys = try await moto.createUser("ssrf", policy: Self.denyAll)
        let listener = try LoopbackListener()
        let request = try AWSCallerIdentityRequest.signed(
            credentials: keys, region: "us-east-1", endpoint: "http://127.0.0.1:\(listener.port)")
        let error = try #require(await refusal(request, try rules()))
        #expect(error.code == .identityRefused)
        let motoHost = String(moto.url.dropFirst("http://".count))
        #expect(
            error.message
                == "the signed GetCallerIdentity request is refused: it was signed for host \"127.0.0.1:\(listener.port)\", "
                + "not for the agent type's STS endpoint \"\(motoHost)\"")
        #expect(listener.connectionsWaiting() == 0)

        // Signed for moto but naming the listener as its URL: the hub still only talks to moto.
        var redirected = try AWSCallerIdentityRequest.signed(credentials: keys, region: "us-east-1", endpoint: moto.url)
        redirected.url = "http://127.0.0.1:\(listener.port)/"
        #expect(try await Self.verifier.verify(redirected, rules: try rules()).agentName == "\(moto.prefix)-ssrf")
        #expect(listener.connectionsWaiting() == 0)
    }

    @Test("a signed request for another action, or an unsigned one, is refused before it is sent")
    func otherAction() async throws {
        let moto = try moto
        let keys = try await moto.createUser("actions", policy: Self.denyAll)
        let body = "Action=CreateUser&Version=2010-05-08&UserName=\(moto.prefix)-planted"
        let signed = SigV4Signer(credentials: moto.admin, region: "us-east-1", service: "iam").sign(
            try SigV4Request(
                method: "POST", url: moto.url + "/",
                headers: [(name: "Content-Type", value: AWSCallerIdentityRequest.contentType)], body: Array(body.utf8)))
        let createUser = SignedHTTPRequest(
            method: "POST", url: signed.request.url,
            headers: signed.request.headers.map { .init(name: $0.name, value: $0.value) }, body: body)
        let error = try #require(await refusal(createUser, try rules()))
        #expect(error.code == .identityRefused)
        #expect(error.message.hasSuffix("its action is \"Action=CreateUser\"; only Action=GetCallerIdentity is accepted"))
        // Nothing reached moto: the user does not exist.
        await #expect(throws: SecretError.self) { try await moto.iam("GetUser", ["UserName": "\(moto.prefix)-planted"]) }

        // moto (unlike AWS) answers an unsigned GetCallerIdentity with a made-up identity: the hub never asks.
        var unsigned = try AWSCallerIdentityRequest.signed(credentials: keys, region: "us-east-1", endpoint: moto.url)
        unsigned.headers.removeAll { $0.name == "Authorization" }
        let unsignedError = try #require(await refusal(unsigned, try rules()))
        #expect(unsignedError.message.hasSuffix("it is not signed (no Authorization header, no X-Amz-Signature parameter)"))
    }
}

@Suite("aws-sts naming: signing, and failures without moto")
struct AWSCallerIdentitySigningTests {
    static func refusal(_ request: SignedHTTPRequest, _ rules: AWSNamingRules) async -> HubError? {
        do {
            let identity = try await AWSCallerIdentityTests.verifier.verify(request, rules: rules)
            Issue.record("accepted as \(identity.arn)")
            return nil
        } catch {
            return error
        }
    }

    @Test("an STS endpoint that cannot be reached is a retryable failure naming it")
    func unreachable() async throws {
        let keys = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: AWSTest.canary())
        let port = try LoopbackListener().port  // closed again at once: nothing listens there
        let endpoint = "http://127.0.0.1:\(port)"
        let request = try AWSCallerIdentityRequest.signed(credentials: keys, region: "us-east-1", endpoint: endpoint)
        let error = try #require(
            await Self.refusal(request, AWSNamingRules(accountID: AWSMoto.account, stsEndpoint: endpoint)))
        #expect(error.code == .stsUnavailable)
        #expect(error.message.hasPrefix("cannot reach the STS endpoint 127.0.0.1:\(port): "))
        #expect(!error.message.contains(keys.secretAccessKey))
    }

    @Test("an STS endpoint that redirects is not followed: the signed request goes nowhere else")
    func redirectNotFollowed() async throws {
        let listener = try LoopbackListener()
        let elsewhere = "http://127.0.0.1:\(listener.port)/"
        let router = Router()
        router.post("/") { _, _ -> Response in
            Response(status: .temporaryRedirect, headers: [.location: elsewhere])
        }
        let keys = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: AWSTest.canary())
        let error = try await withFakeServer(router) { url in
            let request = try AWSCallerIdentityRequest.signed(credentials: keys, region: "us-east-1", endpoint: url)
            let host = String(url.dropFirst("http://".count))
            let error = try #require(
                await Self.refusal(request, AWSNamingRules(accountID: AWSMoto.account, stsEndpoint: url)))
            #expect(
                error.message
                    == "the STS endpoint \(host) answered a redirect (HTTP 307), which the hub does not follow")
            return error
        }
        #expect(error.code == .stsUnavailable)
        #expect(listener.connectionsWaiting() == 0)
    }

    @Test("no credentials anywhere: the error says what was tried")
    func noCredentials() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("sts-\(UUID().uuidString)").path
        let error = await AWSTest.failure {
            try await AWSCallerIdentityRequest.signedCallerIdentity(
                endpoint: nil, region: nil, environment: AWSTest.isolatedEnvironment(home: home),
                http: SecretHTTP(client: AWSTest.http, timeout: .seconds(5)))
        }
        #expect(error?.code == .denied)
        #expect(error?.detail.hasPrefix("signing sts:GetCallerIdentity for the hub: no AWS credentials: tried static keys") == true)
    }

    static let cases: [(String, String?, [String: String], String)] = [
        ("https://sts.amazonaws.com", "eu-west-1", [:], "us-east-1"),
        ("https://sts.eu-west-1.amazonaws.com", nil, [:], "eu-west-1"),
        ("https://sts-fips.us-east-2.amazonaws.com", nil, ["AWS_REGION": "eu-west-1"], "us-east-2"),
        ("https://sts.cn-north-1.amazonaws.com.cn", nil, [:], "cn-north-1"),
        ("https://vpce-0abc.sts.eu-central-1.vpce.amazonaws.com", "eu-central-1", [:], "eu-central-1"),
        ("http://127.0.0.1:5000", nil, ["AWS_DEFAULT_REGION": "ap-south-1"], "ap-south-1"),
        ("http://127.0.0.1:5000", nil, ["AWS_REGION": "eu-north-1", "AWS_DEFAULT_REGION": "ap-south-1"], "eu-north-1"),
        ("http://127.0.0.1:5000", nil, [:], "us-east-1"),
    ]

    @Test("global endpoint: us-east-1; else the given region, the endpoint's, the environment's", arguments: cases)
    func region(_ endpoint: String, _ region: String?, _ environment: [String: String], _ expected: String) {
        #expect(AWSCallerIdentityRequest.signingRegion(endpoint: endpoint, region: region, environment: environment) == expected)
    }

    @Test("the signed request is a form POST to the endpoint, with the session token of temporary keys")
    func shape() throws {
        let credentials = AWSCredentials(
            accessKeyID: "ASIAEXAMPLE", secretAccessKey: AWSTest.canary(), sessionToken: AWSTest.canary())
        let date = Date(timeIntervalSince1970: 1_790_000_000)
        let request = try AWSCallerIdentityRequest.signed(credentials: credentials, region: "us-east-1", date: date)
        #expect(request.method == "POST" && request.url == "https://sts.amazonaws.com/")
        let headers = Dictionary(uniqueKeysWithValues: request.headers.map { ($0.name, $0.value) })
        #expect(headers["Host"] == "sts.amazonaws.com")
        #expect(headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(headers["X-Amz-Date"] == SigV4Signer.amzDate(date))
        #expect(headers["X-Amz-Security-Token"] == credentials.sessionToken)
        let authorization = try #require(headers["Authorization"])
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/"))
        #expect(authorization.contains("/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "))
        expectAbsent(credentials.secretAccessKey, in: authorization, "authorization")
    }
}

/// A TCP socket listening on 127.0.0.1 that never accepts: a connection anyone
/// makes to it waits in the kernel's queue, where `connectionsWaiting()` finds it.
final class LoopbackListener {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw HarnessError("cannot listen on 127.0.0.1: errno \(errno)")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Connections made so far (accepted and closed here, so each counts once).
    func connectionsWaiting() -> Int {
        var count = 0
        while case let client = accept(descriptor, nil, nil), client >= 0 {
            close(client)
            count += 1
        }
        return count
    }

    deinit { close(descriptor) }
}
