import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

/// Credentials files of every supported type, each against the fake's own token
/// services at the URLs the file names.
struct GCPFiles {
    let fake: FakeGCPSecretManager
    let directory: TemporaryDirectory
    static let serviceAccount = "outpost-reader@outpost-test.iam.gserviceaccount.com"
    static let user = "alice@example.com"

    init(_ fake: FakeGCPSecretManager = FakeGCPSecretManager()) throws {
        self.fake = fake
        directory = try TemporaryDirectory(prefix: "outpost-gcp")
    }

    /// Writes `object` as `name` and returns its path.
    func write(_ object: [String: Any], _ name: String) throws -> String {
        let path = directory.file(name)
        try FakeGCPCredentialFiles.write(object, to: path)
        return path
    }

    /// Writes `text` as `name` and returns its path.
    func text(_ text: String, _ name: String) throws -> String {
        let path = directory.file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Provider options with `auth` and the fake as endpoint; no retries, no cache.
    func options(_ base: String, auth: [String: Any], _ extra: [String: Any] = [:]) -> [String: Any] {
        var values: [String: Any] = [
            "name": "gcp", "type": "gcp-secret-manager", "endpoint": base, "project": "outpost-test",
            "max_retries": "0", "cache_ttl": "0", "auth": auth,
        ]
        values.merge(extra) { $1 }
        return values
    }
}

@Suite("GCP Secret Manager: workload identity federation, users, impersonation")
struct GCPFederationTests {
    @Test("external_account, file-sourced (text): the subject token is read for every exchange and traded at STS")
    func externalAccountFileText() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        let value = CloudTest.canary()
        files.fake.setSecret("db", value)
        files.fake.allowSubjectToken("oidc-token-1", subject: "system:serviceaccount:ci:runner", audience: FakeGCPCredentialFiles.audience)
        files.fake.allowSubjectToken("oidc-token-2", subject: "system:serviceaccount:ci:runner", audience: FakeGCPCredentialFiles.audience)
        try await files.fake.run { base in
            let tokenFile = try files.text("oidc-token-1\n", "token")
            let file = try files.write(
                FakeGCPCredentialFiles.externalAccount(base, source: FakeGCPCredentialFiles.fileSource(tokenFile)), "wif.json")
            let provider = try CloudTest.provider(
                files.options(base, auth: ["method": "external_account", "credentials_file": file]))
            #expect(try await provider.fetch(path: "db") == .text(value))
            let request = try #require(files.fake.stsRequests.first)
            #expect(request.audience == FakeGCPCredentialFiles.audience)
            #expect(request.subjectTokenType == "urn:ietf:params:oauth:token-type:jwt")
            #expect(request.requestedTokenType == "urn:ietf:params:oauth:token-type:access_token")
            #expect(request.scope == "https://www.googleapis.com/auth/cloud-platform")
            #expect(request.options == nil)

            // A rotated token is what the next exchange sends; the old one no longer works.
            _ = try files.text("oidc-token-2", "token")
            files.fake.revokeSubjectToken("oidc-token-1", audience: FakeGCPCredentialFiles.audience)
            files.fake.revokeTokens()
            #expect(try await provider.fetch(path: "db") == .text(value))
            #expect(files.fake.counts.stsRequests == 2)
        }
    }

    @Test("external_account, file-sourced (json, subject_token_field_name); an unknown token is denied without showing it")
    func externalAccountFileJSON() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        files.fake.allowSubjectToken("oidc-json-token", subject: "repo:acme/app", audience: FakeGCPCredentialFiles.audience)
        try await files.fake.run { base in
            let tokenFile = try files.text(#"{"access_token": "oidc-json-token", "expires_in": 300}"#, "token.json")
            let file = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.fileSource(tokenFile, field: "access_token")), "wif.json")
            let provider = try CloudTest.provider(files.options(base, auth: ["credentials_file": file]))
            #expect(try await provider.fetch(path: "db") == .text("value"))

            let stranger = CloudTest.canary()
            _ = try files.text(#"{"access_token": "\#(stranger)"}"#, "token.json")
            let fresh = try CloudTest.provider(files.options(base, auth: ["credentials_file": file]))
            let error = await CloudTest.failure { () async throws(SecretError) in try await fresh.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("invalid_grant") == true)
            #expect(error?.message.contains(stranger) == false)

            _ = try files.text(#"{"id_token": "x"}"#, "token.json")
            let missing = await CloudTest.failure { () async throws(SecretError) in
                try await CloudTest.provider(files.options(base, auth: ["credentials_file": file])).fetch(path: "db")
            }
            #expect(missing?.code == .malformed)
            #expect(missing?.message.contains("subject_token_field_name") == true)
        }
    }

    @Test("external_account, URL-sourced: the configured headers are sent; text and json formats")
    func externalAccountURL() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        files.fake.allowSubjectToken("url-token", subject: "ci-job-7", audience: FakeGCPCredentialFiles.audience)
        try await files.fake.run { base in
            files.fake.serveSubjectToken(#"{"value": "url-token"}"#, requiring: (name: "X-Identity-Audience", value: "gcp"))
            let json = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.urlSource(base, headers: ["X-Identity-Audience": "gcp"], field: "value")),
                "url.json")
            #expect(try await CloudTest.provider(files.options(base, auth: ["credentials_file": json])).fetch(path: "db") == .text("value"))

            files.fake.serveSubjectToken("url-token\n", requiring: (name: "X-Identity-Audience", value: "gcp"))
            let text = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.urlSource(base, headers: ["X-Identity-Audience": "gcp"])),
                "url-text.json")
            #expect(try await CloudTest.provider(files.options(base, auth: ["credentials_file": text])).fetch(path: "db") == .text("value"))

            let headerless = try files.write(
                FakeGCPCredentialFiles.externalAccount(base, source: FakeGCPCredentialFiles.urlSource(base, headers: [:])),
                "url-bare.json")
            let error = await CloudTest.failure { () async throws(SecretError) in
                try await CloudTest.provider(files.options(base, auth: ["credentials_file": headerless])).fetch(path: "db")
            }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("subject token URL") == true)
            #expect(files.fake.subjectTokenRequests == 3)
        }
    }

    @Test("external_account from AWS, keys and region from the environment: a signed GetCallerIdentity STS verifies")
    func awsFromEnvironment() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        let audience = FakeGCPCredentialFiles.awsAudience
        files.fake.allowAWS(accessKeyID: "AKIAGCPTESTKEY000001", secretAccessKey: "known-secret-key/1", audience: audience)
        try await files.fake.run { base in
            let file = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.awsSource(instance: nil), audience: audience,
                    subjectTokenType: FakeGCPCredentialFiles.awsType), "aws.json")
            let environment = [
                "AWS_ACCESS_KEY_ID": "AKIAGCPTESTKEY000001", "AWS_SECRET_ACCESS_KEY": "known-secret-key/1",
                "AWS_REGION": "eu-west-3",
            ]
            let provider = try CloudTest.provider(files.options(base, auth: ["credentials_file": file]), environment: environment)
            #expect(try await provider.fetch(path: "db") == .text("value"))
            let request = try #require(files.fake.stsRequests.first)
            #expect(request.subjectTokenType == "urn:ietf:params:aws:token-type:aws4_request")
            #expect(request.awsURL == "https://sts.eu-west-3.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15")

            // Another secret key: the signature does not verify.
            var forged = environment
            forged["AWS_SECRET_ACCESS_KEY"] = "not-the-key"
            let other = try CloudTest.provider(files.options(base, auth: ["credentials_file": file]), environment: forged)
            let error = await CloudTest.failure { () async throws(SecretError) in try await other.fetch(path: "db") }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("signature") == true)
            #expect(error?.message.contains("not-the-key") == false)

            // Neither keys nor an instance role: said so, before any request.
            let bare = try CloudTest.provider(files.options(base, auth: ["credentials_file": file]), environment: ["AWS_REGION": "eu-west-3"])
            let none = await CloudTest.failure { () async throws(SecretError) in try await bare.fetch(path: "db") }
            #expect(none?.message.contains("AWS_ACCESS_KEY_ID") == true)
        }
    }

    @Test("external_account from AWS on EC2: IMDSv2 session token, region from the zone, role credentials")
    func awsFromInstanceMetadata() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        let audience = FakeGCPCredentialFiles.awsAudience
        files.fake.setAWSInstance(
            accessKeyID: "ASIAGCPTESTROLE00001", secretAccessKey: "role-secret", sessionToken: "role-session-token",
            zone: "ap-south-1c", audience: audience)
        try await files.fake.run { base in
            let file = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.awsSource(instance: base), audience: audience,
                    subjectTokenType: FakeGCPCredentialFiles.awsType), "aws.json")
            let provider = try CloudTest.provider(files.options(base, auth: ["credentials_file": file]))
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(files.fake.stsRequests.first?.awsURL?.hasPrefix("https://sts.ap-south-1.amazonaws.com?") == true)
            let counts = files.fake.awsInstanceCounts
            #expect(counts.sessionTokens == 1)
            #expect(counts.zoneRequests == 1)
            #expect(counts.credentialRequests == 1)
            #expect(counts.refused == 0)
        }
    }

    @Test("the serialized AWS request: Google's documented structure, and a signature that verifies on its own")
    func awsSubjectTokenShape() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG", sessionToken: "session/token+1")
        let token = try GCPAWSSubjectToken.serializedRequest(
            credentials: credentials, region: "us-east-1",
            verificationURL: GCPAWSSubjectToken.defaultVerificationURL, audience: FakeGCPCredentialFiles.awsAudience, now: now)
        #expect(!token.contains("{") && !token.contains("\""))
        let json = try #require(token.removingPercentEncoding)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["url", "method", "headers"])
        #expect(object["method"] as? String == "POST")
        #expect(object["url"] as? String == "https://sts.us-east-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15")
        let headers = try #require(object["headers"] as? [[String: String]])
        #expect(headers.map { $0["key"] ?? "" } == ["Authorization", "host", "x-amz-date", "x-amz-security-token", "x-goog-cloud-target-resource"])
        #expect(headers[1]["value"] == "sts.us-east-1.amazonaws.com")
        #expect(headers[2]["value"] == "20270115T080000Z")
        #expect(headers[0]["value"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20270115/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token;x-goog-cloud-target-resource, Signature=") == true)
        // Keys sorted, no spaces: json.dumps(..., separators=(",", ":"), sort_keys=True).
        #expect(json.hasPrefix(#"{"headers":[{"key":"Authorization","value":"#))
        let verified = FakeGCPAWSSignature.verify(
            token, audience: FakeGCPCredentialFiles.awsAudience, accessKeyID: "AKIDEXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG", sessionToken: "session/token+1", now: now)
        #expect((try? verified.get()) != nil, "\(verified)")
        let wrong = FakeGCPAWSSignature.verify(
            token, audience: FakeGCPCredentialFiles.awsAudience, accessKeyID: "AKIDEXAMPLE",
            secretAccessKey: "another", sessionToken: "session/token+1", now: now)
        #expect((try? wrong.get()) == nil)
    }

    @Test("external_account with impersonation: the STS token asks generateAccessToken for the service account")
    func externalAccountImpersonation() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        files.fake.allowSubjectToken("oidc", subject: "runner", audience: FakeGCPCredentialFiles.audience)
        let federated = FakeGCPSecretManager.federatedPrincipal(audience: FakeGCPCredentialFiles.audience, subject: "runner")
        try await files.fake.run { base in
            let tokenFile = try files.text("oidc", "token")
            let file = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.fileSource(tokenFile), impersonate: GCPFiles.serviceAccount,
                    extra: ["service_account_impersonation": ["token_lifetime_seconds": 1800]]), "wif.json")
            let provider = try CloudTest.provider(files.options(base, auth: ["credentials_file": file]))
            // Without Token Creator on the account: refused, and the reason is named.
            let denied = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(denied?.code == .denied)
            #expect(denied?.message.contains("iam.serviceAccounts.getAccessToken") == true)

            files.fake.allowImpersonation(of: GCPFiles.serviceAccount, by: federated)
            #expect(try await provider.fetch(path: "db") == .text("value"))
            let call = try #require(files.fake.impersonations.last)
            #expect(call.caller == federated)
            #expect(call.target == GCPFiles.serviceAccount)
            #expect(call.scope == ["https://www.googleapis.com/auth/cloud-platform"])
            #expect(call.lifetime == "1800s")
            #expect(call.delegates.isEmpty)
        }
    }

    @Test("a workforce pool sends options.userProject; with an OAuth client, basic authentication instead")
    func workforcePool() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        let audience = FakeGCPCredentialFiles.workforceAudience
        files.fake.allowSubjectToken("saml", subject: "alice@example.com", audience: audience)
        files.fake.requireUserProject("billing-project", audience: audience)
        try await files.fake.run { base in
            let tokenFile = try files.text("saml", "token")
            let source = FakeGCPCredentialFiles.fileSource(tokenFile)
            let file = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: source, audience: audience, extra: ["workforce_pool_user_project": "billing-project"]),
                "workforce.json")
            #expect(try await CloudTest.provider(files.options(base, auth: ["credentials_file": file])).fetch(path: "db") == .text("value"))
            #expect(files.fake.stsRequests.last?.options == ["userProject": "billing-project"])

            let client = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: source, audience: audience,
                    extra: ["workforce_pool_user_project": "billing-project", "client_id": "wf-client", "client_secret": "wf-secret"]),
                "workforce-client.json")
            #expect(try await CloudTest.provider(files.options(base, auth: ["credentials_file": client])).fetch(path: "db") == .text("value"))
            #expect(files.fake.stsRequests.last?.clientID == "wf-client")
            #expect(files.fake.stsRequests.last?.options == nil)

            let missing = try files.write(
                FakeGCPCredentialFiles.externalAccount(base, source: source, audience: audience), "workforce-bare.json")
            let error = await CloudTest.failure { () async throws(SecretError) in
                try await CloudTest.provider(files.options(base, auth: ["credentials_file": missing])).fetch(path: "db")
            }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("userProject") == true)
        }
    }

    @Test("authorized_user: the refresh-token grant at token_uri; a wrong client secret is denied and not shown")
    func authorizedUser() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        let refresh = "1//" + CloudTest.canary()
        files.fake.addAuthorizedUser(clientID: "client.apps.googleusercontent.com", clientSecret: "d-FL95Q19q7MQmFpd7hHD0Ty", refreshToken: refresh, email: GCPFiles.user)
        try await files.fake.run { base in
            let file = try files.write(
                FakeGCPCredentialFiles.authorizedUser(
                    base, clientID: "client.apps.googleusercontent.com", clientSecret: "d-FL95Q19q7MQmFpd7hHD0Ty", refreshToken: refresh),
                "adc.json")
            let provider = try CloudTest.provider(files.options(base, auth: ["method": "authorized_user", "credentials_file": file]))
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(files.fake.counts.tokenRequests == 1)
            #expect(provider.heldValues.map(\.value).contains(refresh))
            #expect(provider.heldValues.map(\.value).contains("d-FL95Q19q7MQmFpd7hHD0Ty"))

            let wrong = try files.write(
                FakeGCPCredentialFiles.authorizedUser(
                    base, clientID: "client.apps.googleusercontent.com", clientSecret: "wrong-secret-value", refreshToken: refresh),
                "wrong.json")
            let error = await CloudTest.failure { () async throws(SecretError) in
                try await CloudTest.provider(files.options(base, auth: ["credentials_file": wrong])).fetch(path: "db")
            }
            #expect(error?.code == .denied)
            #expect(error?.message.contains("invalid_client") == true)
            #expect(error?.message.contains("wrong-secret-value") == false)
            #expect(error?.message.contains(refresh) == false)
        }
    }

    @Test("impersonated_service_account: a user's token, through delegates, becomes the service account's")
    func impersonatedFromUser() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        files.fake.addAuthorizedUser(clientID: "cid", clientSecret: "csecret", refreshToken: "1//refresh", email: GCPFiles.user)
        let delegate = "hop@outpost-test.iam.gserviceaccount.com"
        files.fake.allowImpersonation(of: delegate, by: GCPFiles.user)
        files.fake.allowImpersonation(of: GCPFiles.serviceAccount, by: delegate)
        try await files.fake.run { base in
            let user = FakeGCPCredentialFiles.authorizedUser(base, clientID: "cid", clientSecret: "csecret", refreshToken: "1//refresh")
            let file = try files.write(
                FakeGCPCredentialFiles.impersonated(base, source: user, target: GCPFiles.serviceAccount, delegates: [delegate]),
                "impersonated.json")
            let provider = try CloudTest.provider(
                files.options(base, auth: ["method": "impersonated_service_account", "credentials_file": file]))
            #expect(try await provider.fetch(path: "db") == .text("value"))
            let call = try #require(files.fake.impersonations.last)
            #expect(call.caller == GCPFiles.user)
            #expect(call.delegates == ["projects/-/serviceAccounts/\(delegate)"])
            #expect(provider.heldValues.map(\.value).contains("1//refresh"))

            // Without the delegate the user holds no Token Creator on the account.
            let direct = try files.write(
                FakeGCPCredentialFiles.impersonated(base, source: user, target: GCPFiles.serviceAccount), "direct.json")
            let error = await CloudTest.failure { () async throws(SecretError) in
                try await CloudTest.provider(files.options(base, auth: ["credentials_file": direct])).fetch(path: "db")
            }
            #expect(error?.code == .denied)
        }
    }

    @Test("impersonated_service_account with a service-account key as source")
    func impersonatedFromServiceAccount() async throws {
        let account = try FakeGCPServiceAccount()
        let files = try GCPFiles(FakeGCPSecretManager(serviceAccounts: [account]))
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        files.fake.allowImpersonation(of: GCPFiles.serviceAccount, by: account.email)
        try await files.fake.run { base in
            let file = try files.write(
                FakeGCPCredentialFiles.impersonated(
                    base, source: FakeGCPCredentialFiles.serviceAccount(account, base), target: GCPFiles.serviceAccount),
                "impersonated.json")
            let provider = try CloudTest.provider(files.options(base, auth: ["credentials_file": file]))
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(files.fake.impersonations.last?.caller == account.email)
            #expect(provider.heldValues.contains { $0.value.contains("PRIVATE KEY") })
        }
    }

    @Test("discovery: credentials_file, then GOOGLE_APPLICATION_CREDENTIALS, then gcloud's ADC file, then the metadata server")
    func discovery() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        files.fake.addAuthorizedUser(clientID: "cid", clientSecret: "csecret", refreshToken: "1//adc", email: GCPFiles.user)
        try await files.fake.run { base in
            let good = try files.write(
                FakeGCPCredentialFiles.authorizedUser(base, clientID: "cid", clientSecret: "csecret", refreshToken: "1//adc"), "good.json")
            let broken = try files.text("{not json", "broken.json")
            let sdkConfig = files.directory.file("gcloud")
            let home = files.directory.file("home")
            try FileManager.default.createDirectory(atPath: sdkConfig, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: home + "/.config/gcloud", withIntermediateDirectories: true)
            func fetch(_ auth: [String: Any], _ environment: [String: String]) async -> SecretError? {
                await CloudTest.failure { () async throws(SecretError) in
                    var options = files.options(base, auth: auth)
                    if auth.isEmpty { options["auth"] = nil }
                    return try await CloudTest.provider(options, environment: environment).fetch(path: "db")
                }
            }
            // An explicit file wins over the variable; the variable over the ADC files.
            #expect(await fetch(["credentials_file": good], ["GOOGLE_APPLICATION_CREDENTIALS": broken]) == nil)
            try FakeGCPCredentialFiles.write(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: good))) as! [String: Any],
                to: sdkConfig + "/application_default_credentials.json")
            try Data("{broken".utf8).write(to: URL(fileURLWithPath: home + "/.config/gcloud/application_default_credentials.json"))
            #expect(await fetch([:], ["GOOGLE_APPLICATION_CREDENTIALS": good, "CLOUDSDK_CONFIG": files.directory.file("nothing")]) == nil)
            // CLOUDSDK_CONFIG's file before HOME's.
            #expect(await fetch([:], ["CLOUDSDK_CONFIG": sdkConfig, "HOME": home]) == nil)
            let homeOnly = await fetch([:], ["HOME": home])
            #expect(homeOnly?.code == .invalidConfiguration)
            #expect(homeOnly?.message.contains("gcloud's application-default credentials file") == true)
            try FileManager.default.removeItem(atPath: home + "/.config/gcloud/application_default_credentials.json")
            try FileManager.default.copyItem(
                atPath: sdkConfig + "/application_default_credentials.json",
                toPath: home + "/.config/gcloud/application_default_credentials.json")
            #expect(await fetch([:], ["HOME": home]) == nil)
            // Nothing at all: the metadata server.
            #expect(await fetch(["metadata_endpoint": base], ["HOME": files.directory.file("empty")]) == nil)
            #expect(files.fake.counts.tokenRequests == 5)
        }
    }

    @Test(
        "bad credentials files are refused at start, naming the problem and never a secret",
        arguments: [
            (#"{"type": "external_account", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "credential_source": {"file": "/t"}}"#, "no audience"),
            (#"{"type": "external_account", "audience": "//a", "subject_token_type": "t", "credential_source": {"executable": {"command": "/bin/CANARY"}}}"#, "executable-sourced"),
            (#"{"type": "external_account", "audience": "//a", "subject_token_type": "t", "credential_source": {"file": "/t", "url": "http://x"}}"#, "exactly one of"),
            (#"{"type": "external_account", "audience": "//a", "subject_token_type": "t", "credential_source": {"file": "/t", "format": {"type": "json"}}}"#, "subject_token_field_name"),
            (#"{"type": "external_account", "audience": "//a", "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request", "credential_source": {"environment_id": "aws2"}}"#, "aws1"),
            (#"{"type": "external_account", "audience": "//a", "subject_token_type": "t", "credential_source": {"environment_id": "aws1"}}"#, "aws4_request"),
            (#"{"type": "external_account", "audience": "//a", "subject_token_type": "t", "credential_source": {"file": "/t"}, "service_account_impersonation_url": "https://iam/x"}"#, "generateAccessToken"),
            (#"{"type": "authorized_user", "client_id": "c", "client_secret": "CANARY"}"#, "no refresh_token"),
            (#"{"type": "impersonated_service_account", "service_account_impersonation_url": "https://i/v1/projects/-/serviceAccounts/a@b:generateAccessToken", "source_credentials": {"type": "impersonated_service_account"}}"#, "does not support"),
            (#"{"type": "gdch_service_account", "private_key": "CANARY"}"#, "does not support"),
            (#"{"client_secret": "CANARY"}"#, "no \"type\""),
        ])
    func badFiles(contents: String, expected: String) throws {
        let (path, directory) = try CloudTest.file(contents)
        defer { directory.remove() }
        let error = #expect(throws: SecretError.self) {
            try CloudTest.provider([
                "name": "gcp", "type": "gcp-secret-manager", "project": "p", "auth": ["credentials_file": path],
            ])
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("secrets.providers[gcp].auth.credentials_file") == true)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("CANARY") == false)
    }

    @Test("a method that names a type needs a file of that type; authorized_user needs a project")
    func methodAndProject() throws {
        let (path, directory) = try CloudTest.file(
            #"{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}"#)
        defer { directory.remove() }
        let mismatch = #expect(throws: SecretError.self) {
            try CloudTest.provider([
                "name": "gcp", "type": "gcp-secret-manager", "project": "p",
                "auth": ["method": "external_account", "credentials_file": path],
            ])
        }
        #expect(mismatch?.message.contains("holds \"authorized_user\" credentials, not external_account") == true)
        let noProject = #expect(throws: SecretError.self) {
            try CloudTest.provider(["name": "gcp", "type": "gcp-secret-manager", "auth": ["credentials_file": path]])
        }
        #expect(noProject?.message.contains("secrets.providers[gcp].project") == true)
        _ = try CloudTest.provider(
            ["name": "gcp", "type": "gcp-secret-manager", "auth": ["credentials_file": path]],
            environment: ["GOOGLE_CLOUD_PROJECT": "from-env"])
    }

    @Test("an external account's project defaults to the workload pool's project number")
    func externalAccountProject() async throws {
        let files = try GCPFiles()
        defer { files.directory.remove() }
        files.fake.setSecret("db", "value")
        files.fake.allowSubjectToken("oidc", subject: "runner", audience: FakeGCPCredentialFiles.audience)
        try await files.fake.run { base in
            let file = try files.write(
                FakeGCPCredentialFiles.externalAccount(base, source: FakeGCPCredentialFiles.fileSource(try files.text("oidc", "t"))),
                "wif.json")
            var options = files.options(base, auth: ["credentials_file": file])
            options["project"] = nil
            let provider = try CloudTest.provider(options)
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(try await provider.list(prefix: "") == ["db"])
        }
    }
}
