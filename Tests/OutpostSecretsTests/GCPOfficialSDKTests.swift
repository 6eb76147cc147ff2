import Foundation
import OutpostTestSupport
import Testing

/// `FakeGCPSecretManager` driven by Google's own Python libraries (`google-auth`,
/// `google-cloud-secret-manager`, REST transport): every credentials file type the
/// provider reads is loaded and refreshed by google-auth against the fake, and the
/// official client reads secrets (a regional one too) and lists with the tokens.
@Suite("GCP fake against the official SDK", .enabled(if: OfficialSDK.available("google.cloud.secretmanager")))
struct GCPOfficialSDKTests {
    @Test("google-auth refreshes every credentials type at the fake; the Secret Manager client reads and lists")
    func officialSDK() async throws {
        let account = try FakeGCPServiceAccount()
        let fake = FakeGCPSecretManager(serviceAccounts: [account], pageSize: 2)
        let files = try GCPFiles(fake)
        defer { files.directory.remove() }
        let value = CloudTest.canary()
        fake.setSecret("db", value)
        for name in ["alpha", "beta", "gamma"] { fake.setSecret(name, "x") }
        fake.setSecret("regional", "regional-" + value, location: "us-east4")

        let target = GCPFiles.serviceAccount
        let pool = FakeGCPCredentialFiles.audience
        fake.addAuthorizedUser(clientID: "sdk-client", clientSecret: "sdk-secret", refreshToken: "1//sdk-refresh", email: GCPFiles.user)
        fake.allowSubjectToken("sdk-oidc", subject: "sdk-workload", audience: pool)
        fake.allowAWS(accessKeyID: "AKIAGCPSDKPROOF00001", secretAccessKey: "sdk-proof-aws-secret", audience: FakeGCPCredentialFiles.awsAudience)
        fake.allowImpersonation(of: target, by: FakeGCPSecretManager.federatedPrincipal(audience: pool, subject: "sdk-workload"))
        fake.allowImpersonation(of: target, by: account.email)
        fake.allowImpersonation(of: target, by: GCPFiles.user)

        let outcome = try await fake.run { base in
            fake.serveSubjectToken("sdk-oidc", requiring: (name: "Metadata-Flavor", value: "Google"))
            let user = FakeGCPCredentialFiles.authorizedUser(
                base, clientID: "sdk-client", clientSecret: "sdk-secret", refreshToken: "1//sdk-refresh")
            let serviceAccount = try files.write(FakeGCPCredentialFiles.serviceAccount(account, base), "sa.json")
            let authorizedUser = try files.write(user, "user.json")
            let tokenFile = try files.text(#"{"id_token": "sdk-oidc"}"#, "oidc.json")
            let fileSourced = try files.write(
                FakeGCPCredentialFiles.externalAccount(base, source: FakeGCPCredentialFiles.fileSource(tokenFile, field: "id_token")),
                "wif-file.json")
            let urlSourced = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.urlSource(base, headers: ["Metadata-Flavor": "Google"])),
                "wif-url.json")
            let awsSourced = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.awsSource(instance: nil), audience: FakeGCPCredentialFiles.awsAudience,
                    subjectTokenType: FakeGCPCredentialFiles.awsType), "wif-aws.json")
            let federatedImpersonation = try files.write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.fileSource(tokenFile, field: "id_token"), impersonate: target),
                "wif-impersonate.json")
            let impersonatedKey = try files.write(
                FakeGCPCredentialFiles.impersonated(base, source: FakeGCPCredentialFiles.serviceAccount(account, base), target: target),
                "impersonated-sa.json")
            let impersonatedUser = try files.write(
                FakeGCPCredentialFiles.impersonated(base, source: user, target: target), "impersonated-user.json")

            let secret = "projects/outpost-test/secrets/db/versions/latest"
            let cases: [(String, String, String)] = [
                ("service_account", serviceAccount, "file"), ("service_account_default", serviceAccount, "default"),
                ("authorized_user", authorizedUser, "file"), ("authorized_user_default", authorizedUser, "default"),
                ("external_file", fileSourced, "file"), ("external_url", urlSourced, "file"),
                ("external_aws", awsSourced, "file"), ("external_impersonation", federatedImpersonation, "file"),
                ("impersonated_key", impersonatedKey, "file"), ("impersonated_user", impersonatedUser, "file"),
            ]
            var planned: [[String: Any]] = cases.map { ["label": $0.0, "file": $0.1, "load": $0.2, "secret": secret] }
            planned.append([
                "label": "regional", "file": authorizedUser, "load": "file",
                "secret": "projects/outpost-test/locations/us-east4/secrets/regional/versions/latest",
            ])
            let plan = try files.write(
                [
                    "endpoint": base, "cases": planned,
                    "list": ["file": serviceAccount, "parent": "projects/outpost-test", "page_size": 2],
                ], "plan.json")
            return try await OfficialSDK.run(
                "gcp_proof.py", arguments: [plan],
                environment: [
                    "AWS_ACCESS_KEY_ID": "AKIAGCPSDKPROOF00001", "AWS_SECRET_ACCESS_KEY": "sdk-proof-aws-secret",
                    "AWS_REGION": "us-west-2", "GOOGLE_CLOUD_PROJECT": "outpost-test",
                ])
        }
        #expect(outcome.succeeded, "\(outcome)")
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        for label in [
            "service_account", "service_account_default", "authorized_user", "authorized_user_default", "external_file",
            "external_url", "external_aws", "external_impersonation", "impersonated_key", "impersonated_user",
        ] {
            #expect(lines.contains { $0.hasPrefix("\(label): ") && $0.hasSuffix(" \(value)") }, "\(label)\n\(outcome)")
        }
        #expect(lines.contains { $0.hasPrefix("regional: ") && $0.hasSuffix(" regional-\(value)") }, "\(outcome)")
        #expect(lines.contains("list: alpha,beta,db,gamma"), "\(outcome)")
        #expect(lines.contains { $0.hasPrefix("external_aws: google.auth.aws.Credentials ") })
        #expect(lines.contains { $0.hasPrefix("impersonated_user: google.auth.impersonated_credentials.Credentials ") })
        // STS: file (2: plain and impersonating), url, aws; IAM: three impersonations.
        #expect(fake.counts.stsRequests >= 4)
        #expect(fake.counts.iamRequests >= 3)
        #expect(fake.stsRequests.contains { $0.awsURL == "https://sts.us-west-2.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15" })
    }
}
