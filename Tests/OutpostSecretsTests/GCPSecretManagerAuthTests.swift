import Foundation
import NIOHTTP1
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

@Suite("GCP Secret Manager authentication")
struct GCPSecretManagerAuthTests {
    @Test("the metadata server: token, and the project id when none is configured")
    func metadataServer() async throws {
        let fake = FakeGCPSecretManager()
        fake.setSecret("db", "value")
        fake.setSecret("other", "x")
        try await fake.run { base in
            let provider = try CloudTest.provider([
                "name": "gce", "type": "gcp-secret-manager", "endpoint": base,
                "auth": ["method": "metadata", "metadata_endpoint": base],
            ])
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(try await provider.list(prefix: "") == ["db", "other"])
        }
        #expect(fake.counts.tokenRequests == 1)
    }

    @Test("GCE_METADATA_HOST points at the metadata server; with no auth section, metadata is the default")
    func metadataHostVariable() async throws {
        let fake = FakeGCPSecretManager()
        fake.setSecret("db", "value")
        try await fake.run { base in
            let provider = try CloudTest.provider(
                ["name": "gce", "type": "gcp-secret-manager", "endpoint": base, "project": "outpost-test"],
                environment: ["GCE_METADATA_HOST": String(base.dropFirst("http://".count))])
            #expect(try await provider.fetch(path: "db") == .text("value"))
        }
    }

    @Test("the fake metadata server refuses requests without Metadata-Flavor: Google, as Google's does")
    func metadataRequiresFlavorHeader() async throws {
        let fake = FakeGCPSecretManager()
        try await fake.run { base in
            let http = SecretHTTP(client: CloudTest.http, timeout: .seconds(5))
            let url = base + "/computeMetadata/v1/instance/service-accounts/default/token"
            let bare = try await http.send(.GET, url)
            #expect(bare.status == 403)
            let proper = try await http.send(.GET, url, headers: [("Metadata-Flavor", "Google")])
            #expect(proper.status == 200)
        }
    }

    @Test("GOOGLE_APPLICATION_CREDENTIALS names the default key file, whose project_id is the default project")
    func applicationDefaultCredentials() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let keyFile = (options["auth"] as! [String: Any])["key_file"] as! String
            let provider = try CloudTest.provider(
                ["name": "adc", "type": "gcp-secret-manager", "endpoint": base],
                environment: ["GOOGLE_APPLICATION_CREDENTIALS": keyFile])
            #expect(try await provider.fetch(path: "db") == .text("value"))
        }
    }

    @Test("the token is reused while fresh and fetched again when announced as expiring")
    func tokenCaching() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("a", "1")
        fixture.fake.setSecret("b", "2")
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            _ = try await provider.fetch(path: "a")
            _ = try await provider.fetch(path: "b")
            #expect(fixture.fake.counts.tokenRequests == 1)
            fixture.fake.setTokenLifetime(seconds: 0)
            let expiring = try CloudTest.provider(options)
            _ = try await expiring.fetch(path: "a")
            _ = try await expiring.fetch(path: "b")
            #expect(fixture.fake.counts.tokenRequests == 3)
        }
    }

    @Test("a 401 for a revoked token gets one new token and the request succeeds")
    func refreshAfterUnauthenticated() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "value")
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            _ = try await provider.fetch(path: "db")
            fixture.fake.revokeTokens()
            #expect(try await provider.fetch(path: "db") == .text("value"))
            #expect(fixture.fake.counts == .init(tokenRequests: 2, apiRequests: 3))
        }
    }

    @Test("an unknown service account is denied; a token endpoint on a closed port is unreachable")
    func tokenFailures() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "value")
        let stranger = try FakeGCPServiceAccount(email: "stranger@elsewhere.iam.gserviceaccount.com")
        let closed = try await fixture.fake.run { base in base }
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base, account: stranger)
            defer { directory.remove() }
            let unknown = try CloudTest.provider(options)
            let denied = await CloudTest.failure { () async throws(SecretError) in try await unknown.fetch(path: "db") }
            #expect(denied?.code == .denied)
            #expect(denied?.message.contains("account not found") == true)

            let key = fixture.account.keyFileJSON(tokenURI: FakeGCPSecretManager.tokenURI(closed))
            let (path, keyDirectory) = try CloudTest.file(key)
            defer { keyDirectory.remove() }
            var values = options
            values["auth"] = ["method": "service_account", "key_file": path]
            let down = try CloudTest.provider(values)
            let error = await CloudTest.failure { () async throws(SecretError) in try await down.fetch(path: "db") }
            #expect(error?.code == .unreachable)
        }
    }

    @Test(
        "configuration mistakes are named, never echoing key material",
        arguments: [
            (#"{"auth": {"method": "service_account"}}"#, "auth.key_file"),
            (#"{"auth": {"method": "service_account", "key_file": "/nonexistent/key.json"}}"#, "auth.key_file"),
            (#"{"auth": {"method": "metadata", "key_file": "/k.json"}}"#, "auth.key_file"),
            (#"{"auth": {"method": "oauth"}}"#, "auth.method"),
            (#"{"auth": {"method": "metadata"}, "project": "bad/project"}"#, "project"),
            (#"{"auth": {"method": "metadata"}, "region": "eu"}"#, "region"),
            (#"{"auth": {"method": "metadata", "metadata_endpoint": "metadata.internal"}}"#, "auth.metadata_endpoint"),
        ])
    func configurationErrors(json: String, key: String) throws {
        var options = try CloudTest.json(json)
        options["name"] = "gcp"
        options["type"] = "gcp-secret-manager"
        do {
            _ = try CloudTest.provider(options)
            Issue.record("expected an invalid configuration for \(key)")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("secrets.providers[gcp].\(key)"))
        }
    }

    @Test(
        "a key file that is not a usable service-account key is refused without showing its contents",
        arguments: [
            ("not json at all CANARY", "not a JSON service-account key"),
            ("{\"type\":\"authorized_user\",\"client_secret\":\"CANARY\"}", "authorized_user"),
            ("{\"type\":\"service_account\",\"client_email\":\"a@b\",\"private_key\":\"CANARY\"}", "not a PEM RSA private key"),
            ("{\"type\":\"service_account\",\"private_key\":\"CANARY\"}", "no client_email"),
        ])
    func badKeyFiles(contents: String, expected: String) throws {
        let (path, directory) = try CloudTest.file(contents)
        defer { directory.remove() }
        do {
            _ = try CloudTest.provider([
                "name": "gcp", "type": "gcp-secret-manager", "project": "p",
                "auth": ["method": "service_account", "key_file": path],
            ])
            Issue.record("expected the key file to be refused")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains(expected))
            #expect(!error.message.contains("CANARY"))
        }
    }

    @Test("a key file without project_id needs the project option")
    func projectRequired() throws {
        let account = try FakeGCPServiceAccount()
        let (path, directory) = try CloudTest.file(account.keyFileJSON(tokenURI: "https://oauth2.googleapis.com/token", projectID: nil))
        defer { directory.remove() }
        let auth: [String: Any] = ["method": "service_account", "key_file": path]
        let error = #expect(throws: SecretError.self) {
            try CloudTest.provider(["name": "gcp", "type": "gcp-secret-manager", "auth": auth])
        }
        #expect(error?.message.contains("secrets.providers[gcp].project") == true)
        _ = try CloudTest.provider(["name": "gcp", "type": "gcp-secret-manager", "project": "p", "auth": auth])
    }

    @Test("the fake token endpoint refuses an expired assertion and a missing scope, as Google does")
    func fakeChecksClaims() async throws {
        let account = try FakeGCPServiceAccount()
        let fake = FakeGCPSecretManager(serviceAccounts: [account])
        try await fake.run { base in
            let json = account.keyFileJSON(tokenURI: FakeGCPSecretManager.tokenURI(base))
            let key = try GCPServiceAccountKey(json: Data(json.utf8), path: "key.json")
            let http = SecretHTTP(client: CloudTest.http, timeout: .seconds(5))
            func post(_ assertion: String) async throws -> SecretHTTP.Response {
                try await http.send(
                    .POST, key.tokenURI, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: CloudText.form([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)]))
            }
            let expired = try await post(try key.assertion(scope: GCPCredential.scope, now: Date().addingTimeInterval(-7200)))
            #expect(expired.status == 400)
            #expect(expired.text.contains("short-lived token"))
            let unscoped = try await post(try key.assertion(scope: "https://www.googleapis.com/auth/userinfo.email"))
            #expect(unscoped.status == 400)
            #expect(unscoped.text.contains("invalid_scope"))
            let good = try await post(try key.assertion(scope: GCPCredential.scope))
            #expect(good.status == 200)
        }
    }

    @Test("the JWT assertion carries the documented header and claims")
    func assertionShape() throws {
        let account = try FakeGCPServiceAccount()
        let json = account.keyFileJSON(tokenURI: "https://oauth2.googleapis.com/token")
        let key = try GCPServiceAccountKey(json: Data(json.utf8), path: "key.json")
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let parts = try key.assertion(scope: GCPCredential.scope, now: now).split(separator: ".")
        #expect(parts.count == 3)
        func decode(_ part: Substring) throws -> [String: Any] {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return try JSONSerialization.jsonObject(with: Data(base64Encoded: text)!) as! [String: Any]
        }
        let header = try decode(parts[0])
        #expect(header["alg"] as? String == "RS256")
        #expect(header["typ"] as? String == "JWT")
        #expect(header["kid"] as? String == account.keyID)
        let claims = try decode(parts[1])
        #expect(claims["iss"] as? String == account.email)
        #expect(claims["aud"] as? String == "https://oauth2.googleapis.com/token")
        #expect(claims["scope"] as? String == "https://www.googleapis.com/auth/cloud-platform")
        #expect((claims["iat"] as? NSNumber)?.intValue == 1_700_000_000)
        #expect((claims["exp"] as? NSNumber)?.intValue == 1_700_003_600)
    }
}
