import Foundation
import OutpostCore

/// A profile's `credential_process`: a program that prints credentials as JSON
/// (`{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}`,
/// AWS's "Sourcing credentials with an external process").
///
/// The command line is split as botocore splits it (`shlex`, no shell) and run
/// with the agent's environment, within `timeout` and 64 KiB of output. Its
/// standard error is never shown (it may hold secrets): a failure says which
/// program failed, how (exit code, signal, time, size), and how many bytes it
/// wrote to stderr. Credentials with an `Expiration` are run for again before
/// they expire (the chain's refresh margin); ones without are long-term keys.
struct AWSCredentialProcess: Sendable {
    static let maxOutputBytes = 64 << 10

    /// The `credential_process` value.
    var command: String
    /// The profile it came from, for messages.
    var profile: String
    var environment: [String: String]
    var timeout: Duration

    /// The JSON the program prints.
    struct Answer: Decodable {
        var Version: Int?
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var SessionToken: String?
        var Expiration: String?
    }

    func credentials() async throws(SecretError) -> AWSCredentials {
        guard let words = AWSProcessRunner.split(command), let program = words.first, !program.isEmpty else {
            throw SecretError(
                .invalidConfiguration,
                "credential_process of profile [\(profile)] is not a command line (an unclosed quote, or empty)")
        }
        let what = "credential_process \(program) of profile [\(profile)]"
        guard let executable = ExecutableLookup.find(program, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            throw SecretError(.denied, "\(what): no executable \(program)\(program.contains("/") ? "" : " on PATH")")
        }
        let outcome: AWSProcessRunner.Outcome
        do {
            outcome = try await AWSProcessRunner.run(
                executable: executable, arguments: Array(words.dropFirst()), environment: environment,
                timeout: timeout, maxOutputBytes: Self.maxOutputBytes)
        } catch {
            switch error {
            case .cannotStart(let reason): throw SecretError(.denied, "\(what) could not be started: \(reason)")
            }
        }
        let stderrNote = outcome.stderrBytes == 0 ? "" : " (its stderr, \(outcome.stderrBytes) bytes, is not shown: it may hold secrets)"
        if outcome.timedOut {
            // Like an unanswered request: trying again may work.
            throw SecretError(.unreachable, "\(what) did not finish within \(timeout) and was killed\(stderrNote)")
        }
        if outcome.overflowed {
            throw SecretError(
                .malformed, "\(what) printed more than \(SecretHTTP.sizeText(Self.maxOutputBytes)) and was killed")
        }
        if let signal = outcome.signal {
            throw SecretError(.denied, "\(what) was killed by signal \(signal)\(stderrNote)")
        }
        guard outcome.exitCode == 0 else {
            throw SecretError(.denied, "\(what) exited with code \(outcome.exitCode ?? -1)\(stderrNote)")
        }
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: Data(outcome.stdout))
        } catch {
            throw SecretError(.malformed, "\(what) printed something that is not the credentials JSON")
        }
        guard answer.Version == 1 else {
            throw SecretError(
                .malformed, "\(what) printed Version \(answer.Version.map(String.init) ?? "(none)"); only Version 1 is known")
        }
        guard let keyID = answer.AccessKeyId, !keyID.isEmpty, let secret = answer.SecretAccessKey, !secret.isEmpty else {
            throw SecretError(.malformed, "\(what) printed no AccessKeyId and SecretAccessKey")
        }
        var expiration: Date?
        if let text = answer.Expiration, !text.isEmpty {
            guard let date = AWSCredentials.parseTimestamp(text) else {
                throw SecretError(.malformed, "\(what) printed an Expiration that is not an ISO 8601 time")
            }
            guard date > Date() else {
                throw SecretError(.denied, "\(what) printed credentials that expired at \(text)")
            }
            expiration = date
        }
        return AWSCredentials(
            accessKeyID: keyID, secretAccessKey: secret,
            sessionToken: answer.SessionToken.flatMap { $0.isEmpty ? nil : $0 }, expiration: expiration)
    }
}
