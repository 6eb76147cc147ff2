import Foundation
import OutpostCore
import Testing

@testable import OutpostCLI

/// The signer's record of the targets it signed for (known_targets.json).
@Suite("Known targets")
struct KnownTargetsTests {
    let path = NSTemporaryDirectory() + "outpost-known-\(UUID().uuidString)/known_targets.json"
    static let hub = "https://hub.internal:8080"
    static let target = Target(
        name: "orders-db", integration: "postgres", tags: TagSet(["prod"]), env: ["PGDATABASE": "orders"],
        secrets: [SecretReference(provider: "vault", path: "db/orders", mapping: ["PGPASSWORD": "password"])])

    @Test("first use records, the same definition passes, a change is named until accepted; per hub")
    func lifecycle() throws {
        let known = KnownTargets(path: path)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        #expect(try known.check(Self.target, hub: Self.hub, accept: false) == .firstUse)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try known.check(Self.target, hub: Self.hub, accept: false) == .unchanged)
        // A timeout is each task's own: not part of the record.
        var longer = Self.target
        longer.timeoutSeconds = 900
        #expect(try known.check(longer, hub: Self.hub, accept: false) == .unchanged)

        var changed = Self.target
        changed.secrets[0].mapping["PGPASSWORD"] = "admin_password"
        changed.integration = "bash"
        #expect(try known.check(changed, hub: Self.hub, accept: false) == .changed([.integration, .secrets]))
        #expect(try known.check(changed, hub: Self.hub, accept: false) == .changed([.integration, .secrets]), "not recorded")
        #expect(try known.check(changed, hub: Self.hub, accept: true) == .changed([.integration, .secrets]))
        #expect(try known.check(changed, hub: Self.hub, accept: false) == .unchanged)
        #expect(try known.check(Self.target, hub: "https://other-hub:8080", accept: false) == .firstUse)
    }

    @Test("a damaged record stops signing with the file named")
    func damaged() throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try KnownTargets(path: path).check(Self.target, hub: Self.hub, accept: false) } throws: { error in
            (error as? CLIExit)?.message?.contains("\(path) is not a known-targets file") == true
        }
    }
}
