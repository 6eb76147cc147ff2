package import Foundation

/// Keys, key sets and signed user tokens made by an implementation independent
/// of the agent's verifier: `scripts/testing/jwt-fixtures.py`, with Python's
/// `cryptography` package (the one moto depends on).
///
/// Generated once per test process with fresh keys; every token's dates are
/// relative to `now`, which tests pass to the verifier.
package struct JWTFixtures: Sendable {
    /// The instant the tokens were made for.
    package let now: Date
    /// The key set document: `rsa-1` (RS256), `ec-1` (P-256), `rsa-ps` (RSA announced
    /// for PS256), `rsa-enc` (use enc) and keys of unsupported types.
    package let jwks: String
    /// `jwks` plus `rsa-2`, a key the tokens of case "rotated kid" are signed with.
    package let rotatedJWKS: String
    /// `jwks` without `rsa-1` (a revoked key).
    package let revokedJWKS: String
    /// `rsa-1`'s public key in PEM: the HMAC secret of the "HS256 with the RSA public key" attack.
    package let rsaPublicPEM: String
    /// `iss`, `aud` and `sub` of the valid tokens.
    package let issuer: String
    package let audience: String
    package let subject: String
    /// Compact tokens by case name (see the script for the list).
    package let tokens: [String: String]

    /// The token of case `name`.
    package func token(_ name: String) throws -> String {
        guard let token = tokens[name] else { throw HarnessError("no JWT fixture named \"\(name)\"") }
        return token
    }

    /// The fixtures of this test process.
    /// - Throws: `HarnessError` when no Python with `cryptography` can be found or installed.
    package static func shared() async throws -> JWTFixtures {
        try await generated.value.get()
    }

    /// Whether the fixtures can be made here (a Python with `cryptography`).
    package static func isAvailable() async -> Bool {
        (try? await generated.value.get()) != nil
    }

    /// The script that makes them.
    package static var script: String { OutpostBinary.packageRoot + "/scripts/testing/jwt-fixtures.py" }

    /// Fixtures dated now (wall clock), for end-to-end tests whose agent checks tokens
    /// against its own clock. Made once per test process.
    package static func current() async throws -> JWTFixtures {
        try await generatedNow.value.get()
    }

    private static let generated = Task<Result<JWTFixtures, HarnessError>, Never> {
        await generate(now: 1_795_000_000)
    }

    private static let generatedNow = Task<Result<JWTFixtures, HarnessError>, Never> {
        await generate(now: Int(Date().timeIntervalSince1970))
    }

    private static func generate(now: Int) async -> Result<JWTFixtures, HarnessError> {
        do {
            let python = try await PythonCryptography.interpreter()
            let child = try ChildProcess(
                [script, "--now", String(now)], executable: python, environment: ProcessInfo.processInfo.environment)
            child.closeStdin()
            guard let status = await child.waitForExit(timeout: .seconds(120)) else {
                await child.kill9()
                throw HarnessError("\(script) did not finish within 2 minutes")
            }
            guard status == 0 else { throw HarnessError("\(script) failed: \(child.stderr.suffix(2000))") }
            return .success(try parse(child.stdoutData))
        } catch let error as HarnessError {
            return .failure(error)
        } catch {
            return .failure(HarnessError("cannot make JWT fixtures: \(error)"))
        }
    }

    private static func parse(_ data: Data) throws -> JWTFixtures {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let now = object["now"] as? Int, let jwks = object["jwks"] as? [String: Any],
            let rotated = object["rotated_jwks"] as? [String: Any], let pem = object["rsa_public_pem"] as? String,
            let issuer = object["issuer"] as? String, let audience = object["audience"] as? String,
            let subject = object["subject"] as? String, let tokens = object["tokens"] as? [String: String]
        else { throw HarnessError("\(script) printed something else than its JSON fixtures") }
        var revoked = jwks
        revoked["keys"] = (jwks["keys"] as? [[String: Any]])?.filter { $0["kid"] as? String != "rsa-1" }
        func text(_ value: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
        }
        return JWTFixtures(
            now: Date(timeIntervalSince1970: TimeInterval(now)), jwks: try text(jwks), rotatedJWKS: try text(rotated),
            revokedJWKS: try text(revoked), rsaPublicPEM: pem, issuer: issuer, audience: audience, subject: subject,
            tokens: tokens)
    }
}

/// A Python 3 that can `import cryptography`: `OUTPOST_PYTHON`, else `python3`
/// on PATH, else a private virtual environment under the temp directory into
/// which pip installs `cryptography` (once; later runs reuse it).
enum PythonCryptography {
    static func interpreter() async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = environment["OUTPOST_PYTHON"], !explicit.isEmpty { candidates.append(explicit) }
        if let onPath = which("python3") { candidates.append(onPath) }
        let venv = FileManager.default.temporaryDirectory.path + "/outpost-python-cryptography"
        candidates.append(venv + "/bin/python3")
        for candidate in candidates where await run(candidate, ["-c", "import cryptography"]) == 0 {
            return candidate
        }
        guard let python = which("python3") else { throw HarnessError("python3 is not installed") }
        guard await run(python, ["-m", "venv", venv]) == 0,
            await run(venv + "/bin/python3", ["-m", "pip", "install", "--quiet", "cryptography"], timeout: .seconds(600)) == 0
        else { throw HarnessError("could not install Python's cryptography package into \(venv)") }
        return venv + "/bin/python3"
    }

    private static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async -> Int32? {
        guard FileManager.default.isExecutableFile(atPath: executable),
            let child = try? ChildProcess(arguments, executable: executable, environment: ProcessInfo.processInfo.environment)
        else { return nil }
        child.closeStdin()
        guard let status = await child.waitForExit(timeout: timeout) else {
            await child.kill9()
            return nil
        }
        return status
    }
}
