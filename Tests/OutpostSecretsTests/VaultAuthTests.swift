import Foundation
import OutpostSecrets
import OutpostTestSupport
import Testing

/// The `vault` provider's auth methods, token caching and re-login, and the
/// namespace header, against `FakeVault` over a real socket.
@Suite("vault provider: auth, re-login and namespace")
struct VaultAuthTests {
    static func options(_ address: String, auth: [String: Any], _ extra: [String: Any] = [:]) -> [String: Any] {
        var values: [String: Any] = [
            "name": "vault", "type": "vault", "address": address, "max_retries": "0", "cache_ttl": "0", "auth": auth,
        ]
        values.merge(extra) { $1 }
        return values
    }

    @Test("a token from token_file is sent as X-Vault-Token and read again after Vault rejects it")
    func tokenFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = VaultTesting.canary("token1")
        let second = VaultTesting.canary("token2")
        let fake = FakeVault()
        await fake.addToken(first)
        await fake.put("app/db", ["password": "p"])
        let file = try VaultTesting.file(first + "\n", in: directory)
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, auth: ["method": "token", "token_file": file]))
            _ = try await provider.fetch(path: "app/db")
            // The token sink is rotated and the old token revoked.
            await fake.revokeAllTokens()
            await fake.addToken(second)
            try (second + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            #expect(await fake.rejectedTokenCount() == 1)
        }
    }

    @Test("VAULT_TOKEN from the agent's environment is used when no auth is configured")
    func environmentToken() async throws {
        let token = VaultTesting.canary("token")
        let fake = FakeVault()
        await fake.addToken(token)
        await fake.put("app/db", ["password": "p"])
        try await fake.run { address in
            var values = Self.options(address, auth: [:])
            values["auth"] = nil
            let provider = try VaultTesting.make(values, environment: ["VAULT_TOKEN": token])
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            let none = await VaultTesting.error { try VaultTesting.make(values, environment: [:]) }
            #expect(none?.code == .invalidConfiguration)
            #expect(none?.detail.contains("VAULT_TOKEN") == true)
        }
    }

    @Test("a literal token Vault rejects is access denied at once, without a login loop")
    func revokedLiteralToken() async throws {
        let token = VaultTesting.canary("token")
        let fake = FakeVault()
        await fake.addToken(token)
        await fake.put("app/db", ["password": "p"])
        await fake.revokeAllTokens()
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, auth: ["method": "token", "token": token]))
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .denied)
            #expect(await fake.count(.read) == 1)
            VaultTesting.expectClean(error, of: [token])
        }
    }

    @Test("AppRole logs in once, reuses the token, and logs in again after the token is revoked")
    func appRoleRelogin() async throws {
        let secretID = VaultTesting.canary("secret-id")
        let value = VaultTesting.canary("value")
        let log = CapturedLog()
        let fake = FakeVault()
        await fake.addAppRole("outpost", roleID: "role-1", secretID: secretID)
        await fake.put("app/db", ["password": value])
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: ["method": "approle", "role_id": "role-1", "secret_id": secretID]), log: log)
            for _ in 0..<3 { _ = try await provider.fetch(path: "app/db") }
            #expect(await fake.count(.login) == 1)
            await fake.revokeAllTokens()
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": value])
            #expect(await fake.count(.login) == 2)
        }
        #expect(!log.text.contains(secretID) && !log.text.contains(value))
        #expect(log.text.contains("logged in to Vault"))
    }

    @Test("a token whose TTL ran out on the server is replaced by a new login and the read repeated")
    func expiredOnServer() async throws {
        let fake = FakeVault()
        await fake.addAppRole("outpost", roleID: "role-1", secretID: "sid-1")
        await fake.put("app/db", ["password": "p"])
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: ["method": "approle", "role_id": "role-1", "secret_id": "sid-1"]))
            _ = try await provider.fetch(path: "app/db")
            await fake.expireAllTokens()
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            #expect(await fake.count(.login) == 2)
            #expect(await fake.rejectedTokenCount() == 1)
        }
    }

    @Test("a token is renewed before its lease ends, so Vault never sees an expired one")
    func leaseRenewal() async throws {
        let fake = FakeVault()
        // A 6 s lease is renewed after 4 s: 2 s of room for a loaded machine.
        await fake.addAppRole("outpost", roleID: "role-1", secretID: "sid-1", tokenTTL: .seconds(6))
        await fake.put("app/db", ["password": "p"])
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: ["method": "approle", "role_id": "role-1", "secret_id": "sid-1"]))
            _ = try await provider.fetch(path: "app/db")
            let renewed = await eventually(timeout: .seconds(20)) {
                _ = try? await provider.fetch(path: "app/db")
                return await fake.count(.renew) >= 1
            }
            #expect(renewed)
            #expect(await fake.rejectedTokenCount() == 0)
        }
    }

    @Test("a wrong AppRole secret_id is access denied, quoting Vault but not the secret_id")
    func appRoleDenied() async throws {
        let wrong = VaultTesting.canary("wrong-secret-id")
        let fake = FakeVault()
        await fake.addAppRole("outpost", roleID: "role-1", secretID: "right")
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: ["method": "approle", "role_id": "role-1", "secret_id": wrong]))
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .denied)
            #expect(error?.detail.contains("invalid role or secret ID") == true)
            #expect(error?.detail.contains("auth/approle/login") == true)
            VaultTesting.expectClean(error, of: [wrong])
        }
    }

    @Test("AppRole reads secret_id_file and logs in at a custom auth path")
    func appRoleFileAndPath() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let secretID = VaultTesting.canary("sid")
        let file = try VaultTesting.file(secretID, in: directory)
        let fake = FakeVault()
        await fake.addAppRole("ci", roleID: "role-ci", secretID: secretID, path: "auth/ci-approle")
        await fake.put("app/db", ["password": "p"])
        try await fake.run { address in
            let auth = ["method": "approle", "role_id": "role-ci", "secret_id_file": file, "path": "auth/ci-approle"]
            let provider = try VaultTesting.make(Self.options(address, auth: auth))
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
        }
    }

    @Test("Kubernetes auth sends the service-account JWT from jwt_file; the issue's auth/kubernetes/login path works")
    func kubernetes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let jwt = "eyJhbGciOiJSUzI1NiJ9." + VaultTesting.canary("jwt")
        let file = try VaultTesting.file(jwt, in: directory)
        let fake = FakeVault()
        await fake.addKubernetesRole("outpost", jwt: jwt)
        await fake.put("app/db", ["password": "p"])
        try await fake.run { address in
            for path in [nil, "auth/kubernetes/login", "kubernetes"] {
                var auth: [String: Any] = ["method": "kubernetes", "role": "outpost", "jwt_file": file]
                auth["path"] = path
                let provider = try VaultTesting.make(Self.options(address, auth: auth))
                #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            }
            #expect(await fake.count(.login) == 3)
        }
    }

    @Test("Kubernetes auth with a JWT the role does not accept, or a missing jwt_file, is access denied")
    func kubernetesDenied() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let jwt = VaultTesting.canary("other-jwt")
        let file = try VaultTesting.file(jwt, in: directory)
        let fake = FakeVault()
        await fake.addKubernetesRole("outpost", jwt: "the-right-one")
        try await fake.run { address in
            let provider = try VaultTesting.make(
                Self.options(address, auth: ["method": "kubernetes", "role": "outpost", "jwt_file": file]))
            let error = await VaultTesting.error { try await provider.fetch(path: "app/db") }
            #expect(error?.code == .denied)
            VaultTesting.expectClean(error, of: [jwt])
            let missing = try VaultTesting.make(
                Self.options(address, auth: ["method": "kubernetes", "role": "outpost", "jwt_file": directory.file("none")]))
            let noFile = await VaultTesting.error { try await missing.fetch(path: "app/db") }
            #expect(noFile?.code == .denied)
            #expect(noFile?.detail.contains("jwt_file") == true)
        }
    }

    @Test("the namespace goes in X-Vault-Namespace on logins and reads; without it Vault refuses")
    func namespace() async throws {
        let fake = FakeVault(namespace: "team-a")
        await fake.addAppRole("outpost", roleID: "role-1", secretID: "sid-1")
        await fake.put("app/db", ["password": "p"])
        let auth = ["method": "approle", "role_id": "role-1", "secret_id": "sid-1"]
        try await fake.run { address in
            let provider = try VaultTesting.make(Self.options(address, auth: auth, ["namespace": "team-a/"]))
            #expect(VaultTesting.keys(try await provider.fetch(path: "app/db")) == ["password": "p"])
            #expect(await fake.namespacesSeen() == ["team-a", "team-a"])
            let outside = try VaultTesting.make(Self.options(address, auth: auth))
            let error = await VaultTesting.error { try await outside.fetch(path: "app/db") }
            #expect(error?.code == .denied)
        }
    }
}
