import Foundation
import OutpostTestSupport
import Testing

@testable import OutpostSecrets

/// The `vault` provider's AWS IAM login against `FakeVault`, whose `auth/aws` mount
/// sends the signed `GetCallerIdentity` on to moto with signature checking on; and
/// the official `hvac` client driving the same fake through every auth method.
@Suite("vault provider: AWS IAM login through moto, and hvac against the fake", .motoAvailable, .moto, .serialized)
struct VaultAWSAuthTests {
    var moto: AWSMoto { get throws { try #require(AWSMoto.current) } }

    static let serverID = "vault.example.com"
    static let denyAll = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#

    static func options(_ address: String, auth: [String: Any]) -> [String: Any] {
        ["name": "vault", "type": "vault", "address": address, "max_retries": "0", "cache_ttl": "0", "auth": auth]
    }

    /// A fake whose `auth/aws` sends logins to moto, with role `outpost` bound to `principals`.
    func fake(principals: [String], serverID: String? = serverID) async throws -> FakeVault {
        let fake = FakeVault()
        await fake.configureAWS(stsEndpoint: try moto.url, serverID: serverID)
        await fake.addAWSRole("outpost", boundIAMPrincipalARNs: principals)
        await fake.put("app/db", ["password": "aws-read"])
        return fake
    }

    func auth(serverID: String? = serverID) throws -> [String: Any] {
        var auth: [String: Any] = ["method": "aws", "role": "outpost", "sts_endpoint": try moto.url]
        auth["server_id"] = serverID
        return auth
    }

    static func environment(_ keys: AWSCredentials, home: TemporaryDirectory) -> [String: String] {
        var extra = ["AWS_ACCESS_KEY_ID": keys.accessKeyID, "AWS_SECRET_ACCESS_KEY": keys.secretAccessKey]
        extra["AWS_SESSION_TOKEN"] = keys.sessionToken
        return AWSTest.isolatedEnvironment(extra, home: home.path)
    }

    @Test("an IAM user's keys from the environment log in: moto checks the signature, the ARN is bound to the role")
    func iamUser() async throws {
        let moto = try moto
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let keys = try await moto.createUser("vault-agent", policy: Self.denyAll)
        let fake = try await fake(principals: [moto.userARN("vault-agent")])
        let log = CapturedLog()
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: try auth()), environment: Self.environment(keys, home: home), log: log)
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "aws-read"])
            #expect(await fake.loginCount("aws") == 1)
            #expect(await fake.stsRequestCount() == 1)
        }
        #expect(!log.text.contains(keys.secretAccessKey))
        #expect(log.text.contains("logged in to Vault"))
    }

    @Test("a role session's temporary credentials (session token signed too) log in as the role")
    func assumedRole() async throws {
        let moto = try moto
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let base = try await moto.createUser(
            "vault-base",
            policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#)
        let trust = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\(moto.userARN("vault-base"))"},\
            "Action":"sts:AssumeRole"}]}
            """
        let roleARN = try await moto.createRole("vault-runner", trust: trust, policy: Self.denyAll)
        let session = try await AWSSTS(client: moto.client, endpoint: moto.url).assumeRole(
            roleARN: roleARN, sessionName: "i-0123456789abcdef0", externalID: nil, durationSeconds: 900, credentials: base)
        #expect(session.sessionToken != nil)
        let fake = try await fake(principals: [roleARN])
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: try auth()), environment: Self.environment(session, home: home))
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "aws-read"])
            #expect(await fake.loginCount("aws") == 1)
        }
    }

    @Test("a wrong secret key (moto: SignatureDoesNotMatch), an unbound user, a wrong or missing server_id: access denied")
    func refused() async throws {
        let moto = try moto
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let bound = try await moto.createUser("vault-bound", policy: Self.denyAll)
        let stranger = try await moto.createUser("vault-stranger", policy: Self.denyAll)
        var forged = bound
        forged.secretAccessKey = VaultTesting.canary("forged-secret")
        let fake = try await fake(principals: [moto.userARN("vault-bound")])
        let cases: [(AWSCredentials, String?, String)] = [
            (forged, Self.serverID, "SignatureDoesNotMatch"),
            (stranger, Self.serverID, "does not belong to the role"),
            (bound, "other.example.com", "expected \"\(Self.serverID)\""),
            (bound, nil, "missing header"),
        ]
        try await fake.run { address in
            for (keys, serverID, words) in cases {
                let provider = try VaultTesting.make(
                    Self.options(address, auth: try auth(serverID: serverID)), environment: Self.environment(keys, home: home))
                let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
                #expect(error?.code == .denied, "\(words)")
                #expect(error?.detail.contains(words) == true, "\(error?.detail ?? "")")
                #expect(error?.detail.contains("auth/aws/login") == true)
                VaultTesting.expectClean(error, of: [keys.secretAccessKey])
            }
            #expect(await fake.loginCount("aws") == 0)
            // The forged and the unbound requests reached STS; the server ID is checked before.
            #expect(await fake.stsRequestCount() == 2)
        }
    }

    @Test("without AWS credentials the login is refused before Vault is asked, naming the sources tried")
    func noCredentials() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let fake = try await fake(principals: ["*"])
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: try auth()), environment: AWSTest.isolatedEnvironment([:], home: home.path))
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .denied)
            #expect(error?.detail.contains("no AWS credentials") == true, "\(error?.detail ?? "")")
            #expect(await fake.count(.login) == 0)
        }
    }

    // MARK: The login body

    static func login(_ auth: [String: String], environment: [String: String] = [:]) throws(SecretError) -> VaultAWSLogin {
        let options = VaultTesting.options(["name": "vault", "type": "vault", "address": "http://v", "auth": auth])
        guard case .aws(let login) = try VaultAuthMethod(options: options, environment: environment) else {
            throw SecretError(.invalidConfiguration, "not an aws login")
        }
        return login
    }

    @Test("defaults: the global STS endpoint signed for us-east-1, mount auth/aws; sts_region alone means its regional endpoint")
    func endpoints() throws {
        let global = try Self.login(["method": "aws", "role": "r"])
        #expect(global.stsEndpoint == "https://sts.amazonaws.com" && global.stsRegion == "us-east-1")
        #expect(global.path == "auth/aws" && global.serverID == nil)
        let regional = try Self.login(["method": "aws", "role": "r", "sts_region": "eu-west-1", "mount": "aws-prod"])
        #expect(regional.stsEndpoint == "https://sts.eu-west-1.amazonaws.com" && regional.stsRegion == "eu-west-1")
        #expect(regional.path == "auth/aws-prod")
        let fromHost = try Self.login(["method": "aws", "sts_endpoint": "https://sts.ap-south-1.amazonaws.com/"])
        #expect(fromHost.stsRegion == "ap-south-1" && fromHost.role == nil)
        let custom = try Self.login(
            ["method": "aws", "role": "r", "sts_endpoint": "http://127.0.0.1:5000"], environment: ["AWS_REGION": "us-west-2"])
        #expect(custom.stsRegion == "us-west-2")

        for (auth, key) in [
            (["method": "aws", "sts_region": "eu-west-1", "sts_endpoint": "https://sts.amazonaws.com"], "sts_region"),
            (["method": "aws", "sts_endpoint": "sts.amazonaws.com"], "sts_endpoint"),
            (["method": "aws", "sts_region": "EU West"], "sts_region"),
            (["method": "aws", "server_id": "bad\nvalue"], "server_id"),
            (["method": "aws", "access_key_id": "AKIA"], "access_key_id"),
        ] {
            #expect(throws: SecretError.self, "\(key)") { try Self.login(auth) }
            do { _ = try Self.login(auth) } catch { #expect(error.message.contains(key), "\(error.message)") }
        }
    }

    @Test("the login body: method, URL, body and {name: [values]} headers base64-encoded; the server ID header signed")
    func body() throws {
        let login = try Self.login(["method": "aws", "role": "outpost", "server_id": Self.serverID])
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "session")
        let body = try login.loginBody(credentials: credentials, date: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(Set(body.keys) == ["role", "iam_http_request_method", "iam_request_url", "iam_request_body", "iam_request_headers"])
        #expect(body["role"] == "outpost" && body["iam_http_request_method"] == "POST")
        func decoded(_ key: String) -> String { String(decoding: Data(base64Encoded: body[key] ?? "") ?? Data(), as: UTF8.self) }
        #expect(decoded("iam_request_url") == "https://sts.amazonaws.com/")
        #expect(decoded("iam_request_body") == "Action=GetCallerIdentity&Version=2011-06-15")
        let headers = try #require(
            try JSONSerialization.jsonObject(with: Data(decoded("iam_request_headers").utf8)) as? [String: [String]])
        #expect(headers["X-Vault-AWS-IAM-Server-ID"] == [Self.serverID])
        #expect(headers["Host"] == ["sts.amazonaws.com"])
        #expect(headers["X-Amz-Security-Token"] == ["session"])
        #expect(headers["X-Amz-Date"] == ["20270115T080000Z"])
        let authorization = try #require(headers["Authorization"]?.first)
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20270115/us-east-1/sts/aws4_request"))
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id"))
    }

    // MARK: hvac

    @Test(
        "hvac (Vault's official Python client) logs in with token, approle, kubernetes, jwt, aws (through moto) and cert, reads and lists KV v1 and v2, and renews its token",
        .enabled(if: OfficialSDK.available("hvac")))
    func hvacProof() async throws {
        let moto = try moto
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let serverCA = try TestCertificateAuthority(name: "Vault Proof Server CA")
        let clientCA = try TestCertificateAuthority(name: "Vault Proof Client CA")
        let caFile = try serverCA.writeCertificate(to: directory.url, name: "vault-ca.pem")
        let client = try clientCA.issue(commonName: "proof-agent", dnsNames: ["proof-agent.test"], ipAddresses: [])
            .write(to: directory.url, name: "client")
        let keys = try await moto.createUser("hvac-agent", policy: Self.denyAll)
        let issuer = FakeJWTIssuer()
        let kubernetesJWT = "eyJhbGciOiJSUzI1NiJ9." + VaultTesting.canary("k8s")
        let v2 = ["password": VaultTesting.canary("v2"), "user": "app"]
        let v1 = ["api_key": VaultTesting.canary("v1")]

        let fake = FakeVault()
        await fake.mount("kv", kvVersion: 1)
        await fake.put("apps/web", ["old": "1"])
        await fake.put("apps/web", v2)
        await fake.put("apps/api", ["x": "y"])
        await fake.put(mount: "kv", "legacy/svc", v1)
        await fake.put(mount: "kv", "legacy/deep/x", ["a": "b"])
        await fake.addToken("hvs.proof-root", ttl: .seconds(7200), renewable: true)
        let secretID = VaultTesting.canary("sid")
        await fake.addAppRole("proof", roleID: "proof-role", secretID: secretID)
        await fake.addKubernetesRole("proof", jwt: kubernetesJWT)
        await fake.addJWTRole("proof", issuer: issuer, boundAudiences: ["vault"])
        await fake.configureAWS(stsEndpoint: moto.url, serverID: Self.serverID)
        await fake.addAWSRole("proof", boundIAMPrincipalARNs: [moto.userARN("hvac-agent")])
        try await fake.addCertRole("proof", caPEM: try clientCA.certificatePEM)

        let specJSON = try JSONSerialization.data(withJSONObject: [
            "ca": caFile,
            "methods": [
                "token": ["token": "hvs.proof-root"],
                "approle": ["role_id": "proof-role", "secret_id": secretID],
                "kubernetes": ["role": "proof", "jwt": kubernetesJWT],
                "jwt": ["role": "proof", "jwt": try issuer.token(subject: "ci", audience: "vault")],
                "aws": [
                    "role": "proof", "access_key": keys.accessKeyID, "secret_key": keys.secretAccessKey,
                    "region": "us-east-1", "server_id": Self.serverID,
                ],
                "cert": ["name": "proof", "cert": client.certificate, "key": client.key],
            ],
            // The same keys with a wrong secret: moto must refuse hvac's signature.
            "must_fail": [
                "aws": [
                    "creds": [
                        "role": "proof", "access_key": keys.accessKeyID, "secret_key": "forged-\(keys.secretAccessKey)",
                        "region": "us-east-1", "server_id": Self.serverID,
                    ],
                    "error": "SignatureDoesNotMatch",
                ]
            ],
            "kv": [
                "kv2": ["mount": "secret", "path": "apps/web", "folder": "apps"],
                "kv1": ["mount": "kv", "path": "legacy/svc", "folder": "legacy"],
            ],
        ] as [String: Any])
        try await fake.run(tls: try serverCA.issue(), clientCAs: [try clientCA.certificatePEM]) { address in
            var withURL = try #require(try JSONSerialization.jsonObject(with: specJSON) as? [String: Any])
            withURL["url"] = address
            let specFile = directory.file("spec.json")
            try JSONSerialization.data(withJSONObject: withURL).write(to: URL(fileURLWithPath: specFile))
            let outcome = try await OfficialSDK.run(
                "vault_proof.py", arguments: [specFile], environment: ["AWS_ENDPOINT_URL": moto.url])
            #expect(outcome.succeeded, "\(outcome)")
            var results = try #require(
                try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: [String: Any]],
                "\(outcome)")
            let refused = results.removeValue(forKey: "refused")
            #expect(Set(results.keys) == ["token", "approle", "kubernetes", "jwt", "aws", "cert"])
            #expect((refused?["aws"] as? String)?.contains("SignatureDoesNotMatch") == true)
            for (method, result) in results {
                #expect(result["kv2"] as? [String: String] == v2, "\(method)")
                #expect(result["kv2_version"] as? Int == 2, "\(method)")
                #expect(result["kv2_list"] as? [String] == ["api", "web"], "\(method)")
                #expect(result["kv1"] as? [String: String] == v1, "\(method)")
                #expect(result["kv1_list"] as? [String] == ["deep/", "svc"], "\(method)")
                #expect(result["renewed_lease"] as? Int ?? 0 > 0, "\(method) renew-self")
                #expect(result["after_renewal"] as? [String: String] == v2, "\(method)")
            }
            #expect(await fake.loginCount("aws") == 1)
            #expect(await fake.stsRequestCount() == 2)
            #expect(await fake.loginCount("cert") == 1)
            #expect(await fake.loginCount("jwt") == 1)
            #expect(await fake.missingRequestHeaderCount() == 0)
        }
    }
}
