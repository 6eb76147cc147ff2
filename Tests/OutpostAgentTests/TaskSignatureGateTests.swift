import Foundation
import Logging
import OutpostCore
import OutpostSigning
import OutpostTestSupport
import Testing

@testable import OutpostAgent

/// The agent's enforcement around the pure verifier: modes, the agent type's hint, the
/// replay journal (on disk, surviving a restart), and the key file re-read on change.
@Suite("Signed-task gate")
struct TaskSignatureGateTests {
    static let logger = Logger(label: "signed-task-test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let key = TaskSigningKey.generate(.ed25519, kid: "alice")
    static let now = Date()

    struct Fixture {
        let directory: TemporaryDirectory
        var journalPath: String { directory.file("signed-task-nonces") }
        var keysPath: String { directory.file("keys.json") }

        init(keys: [TaskVerificationKey] = [TaskSignatureGateTests.key.publicKey]) throws {
            directory = try TemporaryDirectory(prefix: "signed-gate")
            try Data(TaskVerificationKeySet(keys: keys).json()).write(to: URL(fileURLWithPath: keysPath))
        }

        func gate(_ mode: SignedTaskMode, now: Date = TaskSignatureGateTests.now) throws -> TaskSignatureGate {
            TaskSignatureGate(
                mode: mode, keys: try VerificationKeyFile(path: keysPath, logger: TaskSignatureGateTests.logger),
                journal: try NonceJournal(path: journalPath, now: now), leeway: 30, logger: TaskSignatureGateTests.logger)
        }
    }

    static func assignment(signedBy key: TaskSigningKey? = key, id: String = "tsk_gate000000000000000001") throws -> TaskAssignment {
        var assignment = TaskAssignment(
            taskID: id, target: Target(name: "t", integration: "bash"), script: "echo hi", timeoutSeconds: 60)
        if let key {
            let content = SignedTaskContent(assignment: assignment, scriptSHA256: TaskSigner.scriptDigest(assignment.script))
            assignment.signature = try TaskSigner(key: key).sign(content, now: now)
        }
        return assignment
    }

    @Test("require: a good signature verifies once; its replay and an unsigned task are refused")
    func require() async throws {
        let fixture = try Fixture()
        let gate = try fixture.gate(.require)
        let signed = try Self.assignment()
        #expect(await gate.check(signed, now: Self.now) == .verified(kid: "alice"))
        guard case .rejected(let replay) = await gate.check(signed, now: Self.now) else {
            Issue.record("a replay was not refused")
            return
        }
        #expect(replay.contains("already ran a task with this signature's nonce"))
        guard case .rejected(let unsigned) = await gate.check(try Self.assignment(signedBy: nil), now: Self.now) else {
            Issue.record("an unsigned task was not refused")
            return
        }
        #expect(unsigned.contains("not signed"))
    }

    @Test("the replay journal survives a restart, forgets expired nonces, and a damaged one stops the agent")
    func journal() async throws {
        let fixture = try Fixture()
        let signed = try Self.assignment()
        #expect(try await fixture.gate(.require).check(signed, now: Self.now) == .verified(kid: "alice"))
        // A new gate on the same journal (the agent restarted).
        guard case .rejected = await (try fixture.gate(.require)).check(signed, now: Self.now) else {
            Issue.record("the replay after a restart was not refused")
            return
        }
        // After expiry (and leeway) the nonce is dropped when the journal is opened.
        let later = Self.now.addingTimeInterval(3600)
        #expect(try NonceJournal(path: fixture.journalPath, now: later).count == 0)
        #expect(try NonceJournal(path: fixture.journalPath, now: Self.now).count == 0, "rewritten without it")

        // A last line cut short by a crash is ignored; a damaged line elsewhere is not.
        try Data("1999999999 abc\n19999".utf8).write(to: URL(fileURLWithPath: fixture.journalPath))
        #expect(try NonceJournal(path: fixture.journalPath, now: Self.now).count == 1)
        try Data("garbage\n1999999999 abc\n".utf8).write(to: URL(fileURLWithPath: fixture.journalPath))
        #expect { try NonceJournal(path: fixture.journalPath, now: Self.now) } throws: { error in
            (error as? AgentError)?.message.contains("is damaged at line 1") == true
        }
    }

    @Test("warn runs what require refuses; off checks nothing; the type's hint only ever raises the mode")
    func modes() async throws {
        let fixture = try Fixture()
        let stranger = TaskSigningKey.generate(.ed25519, kid: "mallory")
        let warn = try fixture.gate(.warn)
        guard case .warned(let reason) = await warn.check(try Self.assignment(signedBy: stranger), now: Self.now) else {
            Issue.record("warn mode did not warn")
            return
        }
        #expect(reason.contains(#"signed by key "mallory""#))

        let off = try fixture.gate(.off)
        #expect(await off.check(try Self.assignment(signedBy: nil), now: Self.now) == .notChecked)
        await off.adopt(hubHint: .require)
        #expect(await off.mode == .require)
        guard case .rejected = await off.check(try Self.assignment(signedBy: nil), now: Self.now) else {
            Issue.record("the hint did not raise the mode")
            return
        }
        let strict = try fixture.gate(.require)
        await strict.adopt(hubHint: .off)
        #expect(await strict.mode == .require)
    }

    @Test("the key file is re-read when it changes; a broken rewrite keeps the previous keys")
    func keyFileReload() async throws {
        let fixture = try Fixture()
        let source = try VerificationKeyFile(path: fixture.keysPath, logger: Self.logger)
        #expect(try await source.keySet(wanting: [], now: Self.now).keyIDs == ["alice"])
        let bob = TaskSigningKey.generate(.es256, kid: "bob")
        try Data(TaskVerificationKeySet(keys: [bob.publicKey]).json()).write(to: URL(fileURLWithPath: fixture.keysPath))
        #expect(try await source.keySet(wanting: [], now: Self.now).keyIDs == ["bob"])
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: fixture.keysPath))
        #expect(try await source.keySet(wanting: [], now: Self.now).keyIDs == ["bob"])
        #expect(throws: KeySetError.self) { try VerificationKeyFile(path: fixture.keysPath, logger: Self.logger) }
    }
}

/// When the agent fetches a key set from a URL: no I/O, a counting fetcher.
@Suite("Signed-task keys from a URL")
struct VerificationKeyURLTests {
    final class Fetcher: KeySetFetcher, @unchecked Sendable {
        let lock = NSLock()
        var document: [UInt8]
        var failing = false
        var fetches = 0
        init(_ keys: [TaskVerificationKey]) { document = TaskVerificationKeySet(keys: keys).json() }

        func fetchKeySet(from url: String) async throws(KeySetFetchError) -> [UInt8] {
            let (failing, document) = lock.withLock {
                fetches += 1
                return (self.failing, self.document)
            }
            if failing { throw KeySetFetchError("HTTP 503") }
            return document
        }
    }

    static let alice = TaskSigningKey.generate(.ed25519, kid: "alice").publicKey
    static let bob = TaskSigningKey.generate(.ed25519, kid: "bob").publicKey
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("fetched once, again for an unknown key id at most every 30 s, and when older than 5 minutes")
    func refreshes() async throws {
        let fetcher = Fetcher([Self.alice])
        let source = VerificationKeyURL(url: "https://keys.internal/jwks.json", fetcher: fetcher, logger: TaskSignatureGateTests.logger)
        #expect(try await source.keySet(wanting: ["alice"], now: Self.t0).keyIDs == ["alice"])
        #expect(try await source.keySet(wanting: ["alice"], now: Self.t0.addingTimeInterval(10)).keyIDs == ["alice"])
        #expect(fetcher.fetches == 1)
        // Bob is added at the source; a task signed by bob asks for a refresh, not within 30 s of the last.
        fetcher.lock.withLock { fetcher.document = TaskVerificationKeySet(keys: [Self.alice, Self.bob]).json() }
        #expect(try await source.keySet(wanting: ["bob"], now: Self.t0.addingTimeInterval(20)).keyIDs == ["alice"])
        #expect(fetcher.fetches == 1)
        #expect(try await source.keySet(wanting: ["bob"], now: Self.t0.addingTimeInterval(31)).keyIDs == ["alice", "bob"])
        #expect(fetcher.fetches == 2)
        // Alice is removed; the next fetch after 5 minutes drops her.
        fetcher.lock.withLock { fetcher.document = TaskVerificationKeySet(keys: [Self.bob]).json() }
        #expect(try await source.keySet(wanting: ["alice"], now: Self.t0.addingTimeInterval(200)).keyIDs == ["alice", "bob"])
        #expect(try await source.keySet(wanting: ["alice"], now: Self.t0.addingTimeInterval(340)).keyIDs == ["bob"])
    }

    @Test("an unreachable URL: the last copy serves for 20 minutes, then tasks are refused with the cause")
    func unreachable() async throws {
        let fetcher = Fetcher([Self.alice])
        let source = VerificationKeyURL(url: "https://keys.internal/jwks.json", fetcher: fetcher, logger: TaskSignatureGateTests.logger)
        _ = try await source.keySet(wanting: ["alice"], now: Self.t0)
        fetcher.lock.withLock { fetcher.failing = true }
        #expect(try await source.keySet(wanting: ["alice"], now: Self.t0.addingTimeInterval(1000)).keyIDs == ["alice"])
        await #expect { try await source.keySet(wanting: ["alice"], now: Self.t0.addingTimeInterval(1300)) } throws: { error in
            (error as? KeySetError)?.cause == "the verification keys at https://keys.internal/jwks.json could not be fetched: HTTP 503"
        }
        let never = VerificationKeyURL(url: "https://keys.internal/jwks.json", fetcher: fetcher, logger: TaskSignatureGateTests.logger)
        await #expect(throws: KeySetError.self) { try await never.keySet(wanting: ["alice"], now: Self.t0) }
    }
}
