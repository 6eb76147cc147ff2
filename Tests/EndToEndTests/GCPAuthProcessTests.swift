import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// A real agent whose config file has one Secret Manager provider per way of getting a
/// Google token: workload identity federation (a token file), federation with
/// service-account impersonation, an authorized user, an impersonated service account,
/// discovery through `GOOGLE_APPLICATION_CREDENTIALS` (an external account whose subject
/// token comes from a URL), and a regional secret. One task reads a canary through each;
/// every one reaches the task and shows as [SECURE] in the log.
@Suite("GCP auth methods, end to end", .serialized)
struct GCPAuthProcessTests {
    static func canary(_ label: String) -> String {
        "cnry-gcp-\(label)-" + UUID().uuidString.lowercased().prefix(13)
    }

    @Test("federation, impersonation, authorized user, impersonated account, ADC discovery, a regional secret")
    func everyAuthMethod() async throws {
        let labels = ["wif", "wifimp", "user", "imp", "adc", "regional"]
        let canaries = Dictionary(uniqueKeysWithValues: labels.map { ($0, Self.canary($0)) })
        let fake = FakeGCPSecretManager()
        for label in labels where label != "regional" { fake.setSecret("\(label)-secret", canaries[label]!) }
        fake.setSecret("regional-secret", canaries["regional"]!, location: "us-east4")

        let target = "outpost-reader@outpost-test.iam.gserviceaccount.com"
        let pool = FakeGCPCredentialFiles.audience
        let user = "alice@example.com"
        fake.allowSubjectToken("k8s-projected-token", subject: "system:serviceaccount:ci:agent", audience: pool)
        fake.allowSubjectToken("url-served-token", subject: "system:serviceaccount:ci:agent", audience: pool)
        fake.allowImpersonation(
            of: target, by: FakeGCPSecretManager.federatedPrincipal(audience: pool, subject: "system:serviceaccount:ci:agent"))
        fake.addAuthorizedUser(clientID: "e2e-client", clientSecret: "e2e-client-secret", refreshToken: "1//e2e-refresh", email: user)
        fake.allowImpersonation(of: target, by: user)

        try await fake.run { base in
            fake.serveSubjectToken(#"{"token": "url-served-token"}"#, requiring: (name: "Metadata-Flavor", value: "Google"))
            let cluster = try await Cluster()
            defer { cluster.terminate() }
            func write(_ object: [String: Any], _ name: String) throws -> String {
                let path = cluster.directory.file(name)
                try FakeGCPCredentialFiles.write(object, to: path)
                return path
            }
            let tokenFile = cluster.directory.file("k8s-token")
            try "k8s-projected-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            let userObject = FakeGCPCredentialFiles.authorizedUser(
                base, clientID: "e2e-client", clientSecret: "e2e-client-secret", refreshToken: "1//e2e-refresh")
            let wif = try write(
                FakeGCPCredentialFiles.externalAccount(base, source: FakeGCPCredentialFiles.fileSource(tokenFile)), "wif.json")
            let wifImpersonating = try write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.fileSource(tokenFile), impersonate: target), "wif-imp.json")
            let authorizedUser = try write(userObject, "user.json")
            let impersonated = try write(
                FakeGCPCredentialFiles.impersonated(base, source: userObject, target: target), "impersonated.json")
            let adc = try write(
                FakeGCPCredentialFiles.externalAccount(
                    base, source: FakeGCPCredentialFiles.urlSource(base, headers: ["Metadata-Flavor": "Google"], field: "token")),
                "adc.json")

            let config = """
                secrets:
                  providers:
                    - name: gcp-wif
                      type: gcp-secret-manager
                      endpoint: \(base)
                      auth: {method: external_account, credentials_file: \(wif)}
                    - name: gcp-wif-imp
                      type: gcp-secret-manager
                      endpoint: \(base)
                      project: outpost-test
                      auth: {method: external_account, credentials_file: \(wifImpersonating)}
                    - name: gcp-user
                      type: gcp-secret-manager
                      endpoint: \(base)
                      project: outpost-test
                      auth: {method: authorized_user, credentials_file: \(authorizedUser)}
                    - name: gcp-imp
                      type: gcp-secret-manager
                      endpoint: \(base)
                      project: outpost-test
                      auth: {method: impersonated_service_account, credentials_file: \(impersonated)}
                    - name: gcp-adc
                      type: gcp-secret-manager
                      endpoint: \(base)
                      project: outpost-test
                    - name: gcp-regional
                      type: gcp-secret-manager
                      endpoint: \(base)
                      project: outpost-test
                      location: us-east4
                      auth: {credentials_file: \(authorizedUser)}

                """
            let configFile = cluster.directory.file("agent.yaml")
            try config.write(toFile: configFile, atomically: true, encoding: .utf8)
            _ = try await cluster.startAgent(
                name: "gcp-agent-1", arguments: ["--config-file", configFile],
                environment: ChildProcess.baseEnvironment(["GOOGLE_APPLICATION_CREDENTIALS": adc]))

            let references = [
                SecretReference(provider: "gcp-wif", path: "wif-secret", mapping: ["WIF": ""]),
                SecretReference(provider: "gcp-wif-imp", path: "wifimp-secret@1", mapping: ["WIFIMP": ""]),
                SecretReference(provider: "gcp-user", path: "user-secret", mapping: ["USER_VALUE": ""]),
                SecretReference(provider: "gcp-imp", path: "projects/outpost-test/secrets/imp-secret", mapping: ["IMP": ""]),
                SecretReference(provider: "gcp-adc", path: "adc-secret", mapping: ["ADC": ""]),
                SecretReference(provider: "gcp-regional", path: "regional-secret", mapping: ["REGIONAL": ""]),
            ]
            _ = try await cluster.client.createTarget(Target(name: "gcp-auth", integration: "bash", secrets: references))
            let script = """
                printf 'wif %s\\n' "$WIF"
                printf 'wifimp %s\\n' "$WIFIMP"
                printf 'user %s\\n' "$USER_VALUE"
                printf 'imp %s\\n' "$IMP"
                printf 'adc %s\\n' "$ADC"
                printf 'regional %s\\n' "$REGIONAL"
                printf 'lengths %s\\n' "${#WIF} ${#WIFIMP} ${#USER_VALUE} ${#IMP} ${#ADC} ${#REGIONAL}"
                cat '\(authorizedUser)' '\(tokenFile)'

                """
            let task = try await cluster.client.createTask(CreateTaskRequest(target: "gcp-auth", script: script))
            let done = try await cluster.waitForTask(task.id)
            #expect(done.status == .succeeded, "task ended \(done.status): \(done.error ?? "")")
            let log = String(decoding: try await cluster.client.readLog(taskID: task.id).bytes, as: UTF8.self)
            for label in labels {
                #expect(log.contains("\(label) [SECURE]\n"), "\(label): \(log)")
            }
            // Each value reached the task whole (the canaries are 36 or so characters each).
            let lengths = labels.map { String(canaries[$0]!.count) }.joined(separator: " ")
            #expect(log.contains("lengths \(lengths)"), "\(log)")
            for (label, value) in canaries {
                #expect(!log.contains(value), "the \(label) canary appears in the log")
            }
            // What the credentials files hold is masked too, though no task was handed it.
            #expect(log.contains("\"client_id\" : \"e2e-client\""), "\(log)")
            for held in ["e2e-client-secret", "1//e2e-refresh", "k8s-projected-token"] {
                #expect(!log.contains(held), "\(held) appears in the log")
            }
        }
        // Federation: STS for both federated providers (ADC's too); IAM for the two impersonations.
        #expect(fake.counts.stsRequests == 3)
        #expect(fake.counts.iamRequests == 2)
        #expect(fake.subjectTokenRequests == 1)
    }
}
