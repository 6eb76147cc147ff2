import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import OutpostSigning

/// `outpost keys`: the keys that sign tasks.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make keys that sign tasks (signed tasks).",
        discussion: """
            A signed task carries its submitter's signature; agents with require_signed_tasks \
            run it only if their verification_keys trust the key and nothing was changed on \
            the way. The hub never holds these private keys. See docs/signed-tasks.md.
            """,
        subcommands: [KeysGenerate.self]
    )
}

/// `outpost keys generate --out DIR`: one private key and the key set agents trust it with.
struct KeysGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a new task-signing key pair: a private key (0600) and a public JWKS for agents.",
        discussion: """
            Writes exactly two files into DIR (created 0700 if missing; an existing file is \
            never overwritten):
              task-signing-key.pem         the private key (0600): stays with the signer
              task-verification-keys.json  the public key (a JWKS): for verification_keys

            The key id (kid) is --kid, or the key's RFC 7638 thumbprint. To limit what a key \
            may sign for, add "allowed_targets" and/or "allowed_tags" (lists of names or \
            globs such as "db-*") to its entry in the agents' key set.

            Examples:
              outpost keys generate --out ~/.outpost/keys --kid alice-2026
              outpost keys generate --out ./keys --algorithm es256
            """
    )

    @Option(help: ArgumentHelp("Directory to write the two files into.", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("ed25519 or es256 (ECDSA P-256).", valueName: "algorithm"))
    var algorithm = "ed25519"

    @Option(help: ArgumentHelp("Key id agents see in signatures (default: the key's thumbprint).", valueName: "kid"))
    var kid: String?

    static let privateKeyFile = "task-signing-key.pem"
    static let keySetFile = "task-verification-keys.json"

    func run() throws {
        guard let algorithm = TaskKeyAlgorithm(flagName: algorithm) else {
            throw CLIExit.usage("--algorithm: must be ed25519 or es256, not \"\(algorithm)\"")
        }
        if let kid, kid.isEmpty || kid.utf8.count > 256 || kid.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value > 0x7E }) {
            throw CLIExit.usage("--kid: must be 1 to 256 printable characters without spaces")
        }
        let key = TaskSigningKey.generate(algorithm, kid: kid)
        let directory = (out as NSString).expandingTildeInPath
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIExit.usage("--out: cannot create \(directory)")
        }
        let keyPath = "\(directory)/\(Self.privateKeyFile)"
        let setPath = "\(directory)/\(Self.keySetFile)"
        for path in [keyPath, setPath] where FileManager.default.fileExists(atPath: path) {
            throw CLIExit.usage("--out: \(path) already exists; choose another directory (keys are never overwritten)")
        }
        try Self.create(Array(key.pemFile.utf8), at: keyPath, mode: 0o600)
        try Self.create(TaskVerificationKeySet(keys: [key.publicKey]).json(), at: setPath, mode: 0o644)
        Output.line("kid: \(key.kid) (\(algorithm.displayName))")
        Output.line("private key: \(keyPath)  (keep it secret; sign with `outpost task run --sign-key`)")
        Output.line("public key set: \(setPath)  (agents: verification_keys)")
    }

    /// Creates `path` exclusively with `mode` (never replacing a file).
    private static func create(_ bytes: [UInt8], at path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CLIExit(code: CLIExit.Code.failure, message: "cannot create \(path)") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            throw CLIExit(code: CLIExit.Code.failure, message: "cannot write \(path)")
        }
    }
}
