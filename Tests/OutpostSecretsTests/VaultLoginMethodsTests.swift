import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OutpostSecrets
import OutpostTestSupport
import Testing

/// The `vault` provider's JWT/OIDC and TLS certificate logins, the
/// `X-Vault-Request` header, 412 repeats and the `VAULT_*` defaults, against
/// `FakeVault` over a real socket (the AWS login is in `VaultAWSAuthTests`).
@Suite("vault provider: jwt and cert logins, request header, 412, VAULT_* defaults")
struct VaultLoginMethodsTests {
    static func options(_ address: String, auth: [String: Any]?, _ extra: [String: Any] = [:]) -> [String: Any] {
        var values: [String: Any] = ["name": "vault", "type": "vault", "address": address, "max_retries": "0", "cache_ttl": "0"]
        values["auth"] = auth
        values.merge(extra) { $1 }
        return values
    }

    // MARK: JWT

    @Test("jwt: the token_file's JWT logs in at auth/jwt, and the file is read again at the next login")
    func jwtLogin() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let issuer = FakeJWTIssuer()
        let value = VaultTesting.canary("jwt-value")
        let fake = FakeVault()
        await fake.addJWTRole("ci", issuer: issuer, boundAudiences: ["vault"], boundSubject: "system:serviceaccount:ci:outpost")
        await fake.put("app/db", ["password": value])
        let first = try issuer.token(subject: "system:serviceaccount:ci:outpost", audience: "vault")
        let file = try VaultTesting.file(first, in: directory, name: "token")
        let log = CapturedLog()
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: ["method": "jwt", "role": "ci", "token_file": file]), log: log)
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": value])
            #expect(await fake.loginCount("jwt") == 1)
            // The projected token is rotated, the Vault token revoked: the next login sends the new JWT.
            let second = try issuer.token(subject: "system:serviceaccount:ci:outpost", audience: "vault")
            try second.write(toFile: file, atomically: true, encoding: .utf8)
            await fake.revokeAllTokens()
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": value])
            #expect(await fake.loginCount("jwt") == 2)
            #expect(!log.text.contains(first) && !log.text.contains(second) && !log.text.contains(value))
        }
    }

    @Test("jwt: another audience, an expired token or another issuer's signature is access denied in Vault's words")
    func jwtRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let issuer = FakeJWTIssuer()
        let fake = FakeVault()
        await fake.addJWTRole("ci", issuer: issuer, boundAudiences: ["vault"], path: "auth/gitlab")
        let cases: [(String, String)] = [
            (try issuer.token(subject: "s", audience: "not-vault"), "audience"),
            (try issuer.token(subject: "s", audience: "vault", lifetime: -300), "expired"),
            (try FakeJWTIssuer().token(subject: "s", audience: "vault"), "signature"),
        ]
        try await fake.run { address in
            for (index, (jwt, words)) in cases.enumerated() {
                let file = try VaultTesting.file(jwt, in: directory, name: "jwt-\(index)")
                let provider = try VaultTesting.make(
                    Self.options(address, auth: ["method": "jwt", "role": "ci", "token_file": file, "mount": "gitlab"]))
                let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
                #expect(error?.code == .denied)
                #expect(error?.detail.contains(words) == true, "\(error?.detail ?? "")")
                #expect(error?.detail.contains("auth/gitlab/login") == true)
                VaultTesting.expectClean(error, of: [jwt])
            }
            #expect(await fake.loginCount("jwt") == 0)
        }
    }

    @Test("jwt: token_file and role are required")
    func jwtOptions() async throws {
        for auth in [["method": "jwt", "role": "ci"], ["method": "jwt", "token_file": "/t"]] {
            let error = await VaultTesting.error { try VaultTesting.make(Self.options("http://127.0.0.1:1", auth: auth)) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains(auth["role"] == nil ? "role" : "token_file") == true, "\(error?.message ?? "")")
        }
    }

    // MARK: TLS certificates

    struct CertSetup {
        let directory: TemporaryDirectory
        let serverCA: TestCertificateAuthority
        let clientCA: TestCertificateAuthority
        let otherCA: TestCertificateAuthority
        let caFile: String

        init() throws {
            directory = try TemporaryDirectory()
            serverCA = try TestCertificateAuthority(name: "Vault Server CA")
            clientCA = try TestCertificateAuthority(name: "Outpost Agents CA")
            otherCA = try TestCertificateAuthority(name: "Somebody Else's CA")
            caFile = try serverCA.writeCertificate(to: directory.url, name: "vault-ca.pem")
        }

        func client(_ authority: TestCertificateAuthority, name: String, commonName: String = "agent-1") throws -> (
            certificate: String, key: String
        ) {
            try authority.issue(commonName: commonName, dnsNames: ["\(commonName).agents.test"], ipAddresses: [])
                .write(to: directory.url, name: name)
        }
    }

    @Test("cert: the client certificate on the TLS connection logs in at auth/cert with the role's name")
    func certLogin() async throws {
        let setup = try CertSetup()
        defer { setup.directory.remove() }
        let value = VaultTesting.canary("cert-value")
        let fake = FakeVault()
        try await fake.addCertRole("agents", caPEM: try setup.clientCA.certificatePEM, allowedCommonNames: ["agent-1"])
        await fake.put("app/db", ["password": value])
        let files = try setup.client(setup.clientCA, name: "agent")
        try await fake.run(tls: try setup.serverCA.issue(), clientCAs: [try setup.clientCA.certificatePEM]) { address in
            for name in ["agents", nil] as [String?] {
                var auth: [String: Any] = ["method": "cert", "cert_file": files.certificate, "key_file": files.key]
                auth["name"] = name
                let provider = try VaultTesting.make(Self.options(address, auth: auth, ["tls_ca_file": setup.caFile]))
                #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": value])
            }
            #expect(await fake.loginCount("cert") == 2)
        }
    }

    @Test("cert: a certificate of a CA the role does not trust, or of a common name it does not allow, is access denied")
    func certRefused() async throws {
        let setup = try CertSetup()
        defer { setup.directory.remove() }
        let fake = FakeVault()
        try await fake.addCertRole("agents", caPEM: try setup.clientCA.certificatePEM, allowedCommonNames: ["agent-1"])
        let otherCA = try setup.client(setup.otherCA, name: "other-ca")
        let otherName = try setup.client(setup.clientCA, name: "other-name", commonName: "intruder")
        // The server accepts both CAs in the handshake; the role decides.
        let clientCAs = [try setup.clientCA.certificatePEM, try setup.otherCA.certificatePEM]
        try await fake.run(tls: try setup.serverCA.issue(), clientCAs: clientCAs) { address in
            for files in [otherCA, otherName] {
                let provider = try VaultTesting.make(
                    Self.options(
                        address, auth: ["method": "cert", "name": "agents", "cert_file": files.certificate, "key_file": files.key],
                        ["tls_ca_file": setup.caFile]))
                let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
                #expect(error?.code == .denied)
                #expect(error?.detail.contains("invalid certificate") == true, "\(error?.detail ?? "")")
            }
            #expect(await fake.loginCount("cert") == 0)
        }
    }

    @Test("cert: a missing key file, or a key of another certificate, is access denied naming the file; the key is never shown")
    func certFiles() async throws {
        let setup = try CertSetup()
        defer { setup.directory.remove() }
        let fake = FakeVault()
        try await fake.addCertRole("agents", caPEM: try setup.clientCA.certificatePEM)
        let files = try setup.client(setup.clientCA, name: "agent")
        let other = try setup.client(setup.clientCA, name: "other")
        let keyPEM = try String(contentsOfFile: other.key, encoding: .utf8)
        try await fake.run(tls: try setup.serverCA.issue(), clientCAs: [try setup.clientCA.certificatePEM]) { address in
            let missing = try VaultTesting.make(
                Self.options(
                    address, auth: ["method": "cert", "cert_file": files.certificate, "key_file": setup.directory.file("none.key")],
                    ["tls_ca_file": setup.caFile]))
            let noKey = await VaultTesting.error { try await missing.fetch(path: "app/db") }
            #expect(noKey?.code == .denied)
            #expect(noKey?.detail.contains("auth.key_file") == true, "\(noKey?.detail ?? "")")

            let mismatched = try VaultTesting.make(
                Self.options(
                    address, auth: ["method": "cert", "cert_file": files.certificate, "key_file": other.key],
                    ["tls_ca_file": setup.caFile]))
            let wrongKey = await VaultTesting.error { try await mismatched.fetch(path: "app/db") }
            #expect(wrongKey?.code == .denied)
            #expect(wrongKey?.detail.contains("does not match") == true, "\(wrongKey?.detail ?? "")")
            VaultTesting.expectClean(wrongKey, of: [String(keyPEM.split(separator: "\n")[1])])
        }
        let unset = await VaultTesting.error {
            try VaultTesting.make(Self.options("https://127.0.0.1:1", auth: ["method": "cert", "cert_file": files.certificate]))
        }
        #expect(unset?.code == .invalidConfiguration)
        #expect(unset?.message.contains("key_file") == true)
        let plain = await VaultTesting.error {
            try VaultTesting.make(
                Self.options(
                    "http://127.0.0.1:1", auth: ["method": "cert", "cert_file": files.certificate, "key_file": files.key]))
        }
        #expect(plain?.code == .invalidConfiguration)
        #expect(plain?.message.contains("https://") == true)
    }

    // MARK: X-Vault-Request, 412

    @Test("every request carries X-Vault-Request: true; the fake, like Vault Proxy, refuses one without it")
    func requestHeader() async throws {
        let fake = FakeVault()
        await fake.addAppRole("outpost", roleID: "role-1", secretID: "sid-1")
        await fake.put("app/db", ["password": "p"])
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: ["method": "approle", "role_id": "role-1", "secret_id": "sid-1"]))
            _ = try await provider.fetch(path: "app/db")
            _ = try await provider.list(prefix: "app/")
            #expect(await fake.missingRequestHeaderCount() == 0)
            #expect(await fake.count(.login) == 1)
            #expect(await fake.count(.read) == 1)
            #expect(await fake.count(.list) == 1)

            // The same login without the header: refused, so the check above means something.
            var request = HTTPClientRequest(url: address + "/v1/auth/approle/login")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"role_id": "role-1", "secret_id": "sid-1"}"#))
            let response = try await VaultTesting.http.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 412)
            #expect(await fake.missingRequestHeaderCount() == 1)
        }
    }

    @Test("a 412 (a performance standby not caught up yet) is repeated after a short pause; a lasting one is unreachable")
    func consistencyRetry() async throws {
        let fake = FakeVault()
        await fake.addToken("hvs.t")
        await fake.put("app/db", ["password": "p"])
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, auth: ["method": "token", "token": "hvs.t"]))
            await fake.failNext(2, status: 412, kinds: [.read])
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            #expect(await fake.count(.read) == 3)

            await fake.failNext(2, status: 412, kinds: [.list])
            #expect(try await provider.list(prefix: "app/") == ["app/db"])

            await fake.failNext(10, status: 412, kinds: [.read])
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .unreachable)
            #expect(error?.detail.contains("412") == true, "\(error?.detail ?? "")")
            // One request and three repeats, then max_retries 0 gives up.
            #expect(await fake.count(.read) == 3 + 4)
        }
    }

    // MARK: VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT

    @Test("VAULT_ADDR, VAULT_NAMESPACE and VAULT_CACERT are the defaults of address, namespace and tls_ca_file")
    func environmentDefaults() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try TestCertificateAuthority(name: "Vault Env CA")
        let caFile = try authority.writeCertificate(to: directory.url, name: "ca.pem")
        let fake = FakeVault(namespace: "team-a")
        await fake.addToken("hvs.env")
        await fake.put("app/db", ["password": "p"])
        try await fake.run(tls: try authority.issue()) { address in
            var values = Self.options(address, auth: nil)
            values["address"] = nil
            let environment = [
                "VAULT_ADDR": address + "/", "VAULT_NAMESPACE": "team-a", "VAULT_CACERT": caFile, "VAULT_TOKEN": "hvs.env",
            ]
            let provider = try VaultTesting.make(values, environment: environment)
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            #expect(await fake.namespacesSeen().allSatisfy { $0 == "team-a" })
        }
        let none = await VaultTesting.error {
            try VaultTesting.make(["name": "vault", "type": "vault", "auth": ["method": "token", "token": "t"]])
        }
        #expect(none?.code == .invalidConfiguration)
        #expect(none?.message.contains("VAULT_ADDR") == true)
        let bad = await VaultTesting.error {
            try VaultTesting.make(
                ["name": "vault", "type": "vault", "auth": ["method": "token", "token": "t"]],
                environment: ["VAULT_ADDR": "vault:8200"])
        }
        #expect(bad?.code == .invalidConfiguration)
    }

    @Test("the configuration wins over VAULT_ADDR, VAULT_NAMESPACE and VAULT_CACERT")
    func configurationWins() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authority = try TestCertificateAuthority(name: "Vault Config CA")
        let stranger = try TestCertificateAuthority(name: "Stranger CA")
        let caFile = try authority.writeCertificate(to: directory.url, name: "ca.pem")
        let wrongCA = try stranger.writeCertificate(to: directory.url, name: "wrong.pem")
        let refusing = try RefusingPort()
        let fake = FakeVault(namespace: "team-a")
        await fake.addToken("hvs.cfg")
        await fake.put("app/db", ["password": "p"])
        try await fake.run(tls: try authority.issue()) { address in
            let values = Self.options(
                address, auth: ["method": "token", "token": "hvs.cfg"], ["namespace": "team-a", "tls_ca_file": caFile])
            let environment = ["VAULT_ADDR": refusing.url, "VAULT_NAMESPACE": "team-b", "VAULT_CACERT": wrongCA]
            let provider = try VaultTesting.make(values, environment: environment)
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            #expect(await fake.namespacesSeen().allSatisfy { $0 == "team-a" })
        }
        // VAULT_CACERT does not apply to an http:// address (it may be meant for another Vault).
        let plain = try VaultTesting.make(
            Self.options("http://127.0.0.1:1", auth: ["method": "token", "token": "t"]), environment: ["VAULT_CACERT": wrongCA])
        _ = plain
        withExtendedLifetime(refusing) {}
    }
}
