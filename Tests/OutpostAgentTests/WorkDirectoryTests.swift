import Foundation
@testable import OutpostAgent
import OutpostCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Without `work_dir`, agents of one host share a parent and each works in its own
/// directory: by name, or in the first free `unnamed/N` slot.
@Suite("Work directory per agent")
struct WorkDirectoryTests {
    static func parent() -> String {
        NSTemporaryDirectory() + "outpost-workdir-tests-" + Identifiers.make(prefix: "run")
    }

    @Test("two named agents in one parent get NAME directories; a second agent of the same name is refused, naming it")
    func namedAgents() throws {
        let parent = Self.parent()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let (first, firstLock) = try WorkDirectory.claim(parent: parent, name: "first-agent-1", runAs: nil)
        defer { close(firstLock) }
        let (second, secondLock) = try WorkDirectory.claim(parent: parent, name: "other-agent-1", runAs: nil)
        defer { close(secondLock) }
        #expect(first.root == parent + "/first-agent-1")
        #expect(second.root == parent + "/other-agent-1")
        #expect(FileManager.default.fileExists(atPath: second.tasks))
        #expect {
            try WorkDirectory.claim(parent: parent, name: "first-agent-1", runAs: nil)
        } throws: { error in
            (error as? AgentError)?.message.contains("another agent named first-agent-1 is using the work directory \(parent)/first-agent-1") == true
        }
    }

    @Test("agents without a name take the first free unnamed slot, and a restart takes the same slot again")
    func unnamedSlots() throws {
        let parent = Self.parent()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let (one, oneLock) = try WorkDirectory.claim(parent: parent, name: nil, runAs: nil)
        let (two, twoLock) = try WorkDirectory.claim(parent: parent, name: nil, runAs: nil)
        defer { close(twoLock) }
        #expect(one.root == parent + "/unnamed/1")
        #expect(two.root == parent + "/unnamed/2")
        close(oneLock)
        let (again, againLock) = try WorkDirectory.claim(parent: parent, name: nil, runAs: nil)
        defer { close(againLock) }
        #expect(again.root == parent + "/unnamed/1")
    }

    @Test("an explicit work directory still belongs to one agent, and the refusal says how to share a host")
    func explicitDirectory() throws {
        let parent = Self.parent()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let lock = try WorkDirectory(path: parent).prepare()
        defer { close(lock) }
        #expect {
            try WorkDirectory(path: parent).prepare()
        } throws: { error in
            (error as? AgentError)?.message.contains("leave work_dir unset so that each agent gets ./outpost-agent/NAME") == true
        }
    }
}
