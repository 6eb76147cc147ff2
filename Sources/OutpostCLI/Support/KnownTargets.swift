import Foundation
import OutpostCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the signer signed for before, per hub and target, like ssh's known_hosts:
/// `task run --sign-key` signs a target as the hub describes it, so a hub that changed
/// a target's integration, environment, secret references or tags between two of your
/// signatures would get the change signed. The first signature for a target records
/// its definition; a later one that differs is refused, naming what changed, until
/// the signer accepts it (`--accept-target-change`) after checking.
///
/// File: `OUTPOST_KNOWN_TARGETS` or `~/.outpost/known_targets.json`, mode 0600, one
/// JSON object `{hub URL: {target name: definition}}`, replaced atomically.
struct KnownTargets {
    let path: String

    /// The definition a signature depends on (not its timeout: each task signs its own).
    struct Definition: Codable, Equatable {
        var integration: String
        var env: [String: String]
        var secrets: [SecretReference]
        var tags: [String]

        init(_ target: Target) {
            integration = target.integration
            env = target.env
            secrets = target.secrets
            tags = target.tags.tags
        }

        /// The parts of `self` that differ in `other`, as a signature names them.
        func changes(to other: Definition) -> [SignedTaskContent.Field] {
            func content(_ definition: Definition) -> SignedTaskContent {
                SignedTaskContent(
                    taskID: "", target: "", integration: definition.integration, scriptSHA256: "", env: definition.env,
                    secrets: definition.secrets, tags: definition.tags, timeoutSeconds: 0)
            }
            return content(self).differences(from: content(other))
        }
    }

    /// What checking a target against the record found.
    enum Check: Equatable {
        /// Never signed for on this hub: now recorded.
        case firstUse
        /// The same definition as last time.
        case unchanged
        /// Changed since the last signature, in these parts.
        case changed([SignedTaskContent.Field])
    }

    static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment) -> KnownTargets {
        if let path = environment["OUTPOST_KNOWN_TARGETS"], !path.isEmpty { return KnownTargets(path: path) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return KnownTargets(path: "\(home)/.outpost/known_targets.json")
    }

    /// Compares `target` with what was signed for on `hub`; records it on first use, or
    /// when `accept` is set.
    /// - Throws: a `CLIExit` naming the file when it cannot be read or written.
    func check(_ target: Target, hub: String, accept: Bool) throws -> Check {
        var record = try load()
        let definition = Definition(target)
        let check: Check
        switch record[hub]?[target.name] {
        case nil: check = .firstUse
        case let known? where known == definition: check = .unchanged
        case let known?: check = .changed(known.changes(to: definition))
        }
        if check == .firstUse || (accept && check != .unchanged) {
            record[hub, default: [:]][target.name] = definition
            try save(record)
        }
        return check
    }

    private func load() throws -> [String: [String: Definition]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        do {
            return try JSONDecoder().decode([String: [String: Definition]].self, from: data)
        } catch {
            throw CLIExit.usage(
                "\(path) is not a known-targets file (it records the targets you signed for); move it aside to start afresh")
        }
    }

    private func save(_ record: [String: [String: Definition]]) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let temporary = path + ".new"
            guard FileManager.default.createFile(
                atPath: temporary, contents: try encoder.encode(record), attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown) }
            guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            throw CLIExit(code: CLIExit.Code.failure, message: "cannot record the target you signed for in \(path): \(error)")
        }
    }
}
