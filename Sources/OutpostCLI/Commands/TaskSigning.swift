import Foundation
import OutpostCore
import OutpostSigning

/// `task run --sign-key`: signs the task the command is about to submit.
///
/// The signature covers the target as the hub describes it now — its integration,
/// environment, secret references and tags — so what a signer approves is what agents
/// check; the command prints that summary on standard error for the signer to see.
struct TaskSigning {
    let signer: TaskSigner
    let validity: Duration
    /// The targets signed for before, to notice one the hub changed in between.
    var knownTargets = KnownTargets.default()
    /// `--accept-target-change`: sign a target that changed since the last signature, and record it.
    var acceptTargetChange = false

    /// `nil` when no key was given (flag or `OUTPOST_SIGN_KEY`).
    /// - Throws: a usage error naming the file or flag (never the key's content).
    init?(keyPath flag: String?, validFor: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let path = flag ?? environment["OUTPOST_SIGN_KEY"] else {
            if validFor != nil { throw CLIExit.usage("--sign-valid-for: only applies with --sign-key") }
            return nil
        }
        signer = TaskSigner(key: try Self.readKey(path))
        validity = try Self.validity(validFor)
    }

    /// `request` with the id the signature names, its explicit timeout and the signature.
    /// - Throws: a usage error when `target` changed since the last signature for it on
    ///   `hub` (unless accepted), naming what changed.
    func sign(_ request: CreateTaskRequest, for target: Target, hub: String) throws -> CreateTaskRequest {
        switch try knownTargets.check(target, hub: hub, accept: acceptTargetChange) {
        case .firstUse:
            Output.error("outpost: first signature for target \(target.name) on \(hub): its definition is recorded in \(knownTargets.path)")
        case .unchanged:
            break
        case .changed(let fields) where acceptTargetChange:
            Output.error("outpost: signing target \(target.name) with its changed \(Self.list(fields)), as --accept-target-change asks")
        case .changed(let fields):
            throw CLIExit.usage(
                "--sign-key: target \(target.name) changed on the hub since you last signed for it: \(Self.list(fields)) "
                    + "changed. Check it (outpost target get \(target.name)); if the change is right, sign again with "
                    + "--accept-target-change")
        }
        var signed = request
        signed.id = signed.id ?? Identifiers.make(prefix: "tsk")
        // The agent checks the timeout it is handed, so the signature names one: the
        // flag's, else the target's, else the hub's usual default.
        signed.timeoutSeconds = request.timeoutSeconds ?? target.timeoutSeconds ?? Self.defaultTimeoutSeconds
        let content = SignedTaskContent(
            taskID: signed.id!, target: target, scriptSHA256: TaskSigner.scriptDigest(request.script),
            timeoutSeconds: signed.timeoutSeconds!)
        do {
            signed.signature = try signer.sign(content, now: Date(), validity: validity)
        } catch {
            throw CLIExit.usage("--sign-key: \(error.cause)")
        }
        Output.error(
            "outpost: signed task \(signed.id!) with key \(signer.key.kid): target \(target.name) (\(target.integration)), "
                + "\(target.secrets.count) secret reference\(target.secrets.count == 1 ? "" : "s"), "
                + "tags [\(target.tags)], timeout \(signed.timeoutSeconds!)s, valid for \(validity)")
        return signed
    }

    /// "the integration and the secret references"
    static func list(_ fields: [SignedTaskContent.Field]) -> String {
        SignedTaskContent.list(fields.map(\.phrase))
    }

    /// The timeout a signed task gets when neither the flag nor the target sets one
    /// (the hub's own default for `default_task_timeout`).
    static let defaultTimeoutSeconds = 3600

    static func readKey(_ path: String) throws -> TaskSigningKey {
        guard let data = FileManager.default.contents(atPath: path),
            let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
        else {
            throw CLIExit.usage("--sign-key: cannot read \(path)")
        }
        // Like ssh: a private key others can read is not used.
        guard mode & 0o077 == 0 else {
            throw CLIExit.usage(
                "--sign-key: \(path) can be read by other users (mode \(String(mode & 0o777, radix: 8))); "
                    + "run `chmod 600 \(path)`")
        }
        do {
            return try TaskSigningKey(pemFile: String(decoding: data, as: UTF8.self))
        } catch {
            throw CLIExit.usage("--sign-key: \(path): \(error.cause)")
        }
    }

    static func validity(_ text: String?) throws -> Duration {
        guard let text else { return TaskSigner.defaultValidity }
        do {
            let seconds = try DurationParser.seconds(text)
            guard seconds >= 1, seconds < Double(SignedTaskPayload.maxValiditySeconds - TaskSigner.backdating) else {
                throw CLIExit.usage("--sign-valid-for: must be from 1s to 23h59m")
            }
            return .seconds(Int64(seconds.rounded(.up)))
        } catch let error as OutpostCore.ValidationError {
            throw CLIExit.usage("--sign-valid-for: \(error.message)")
        }
    }
}
