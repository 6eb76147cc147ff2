import Foundation
@testable import OutpostAgent
import OutpostCore
import OutpostMasking
import Testing

@Suite("Log cap")
struct LogCapTests {
    @Test("the truncation line names the cap the way it was configured", arguments: [
        (Int64(64 << 20), "64 MiB"), (512 << 10, "512 KiB"), (1000, "1000 bytes"), (3 << 30, "3072 MiB"),
    ])
    func sizeFormat(cap: Int64, text: String) {
        #expect(OutputFilter.formatSize(cap) == text)
        #expect(
            OutputFilter.truncationLine(cap: cap)
                == Array("\n[outpost: log truncated at \(text); the task kept running]\n".utf8))
    }

    @Test("at the cap the filter keeps what fits, appends one truncation line, then drops everything")
    func filterCaps() {
        let cap: Int64 = 1024
        var filter = OutputFilter(masker: Masker(secrets: []), cap: cap)
        let line = OutputFilter.truncationLine(cap: cap)
        let input = (0..<5000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        var output: [UInt8] = []
        for start in stride(from: 0, to: input.count, by: 333) {
            output += filter.accept(Array(input[start..<min(start + 333, input.count)]))
        }
        output += filter.finish()
        #expect(output.count == Int(cap))
        #expect(Array(output.prefix(Int(cap) - line.count)) == Array(input.prefix(Int(cap) - line.count)))
        #expect(Array(output.suffix(line.count)) == line)
        #expect(filter.truncated)
        #expect(filter.accept([1, 2, 3]).isEmpty)
    }

    @Test("output below the cap passes unchanged")
    func belowCap() {
        var filter = OutputFilter(masker: Masker(secrets: []), cap: 1 << 20)
        #expect(filter.accept(Array("hello\n".utf8)) == Array("hello\n".utf8))
        #expect(filter.finish().isEmpty)
        #expect(!filter.truncated)
    }

    @Test("a task over the cap keeps running; its log ends with exactly one truncation line")
    func taskKeepsRunning() async throws {
        let env = try TestEnvironment(maxLogBytes: 4096)
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment("for i in $(seq 1 5000); do echo \"line $i\"; done\necho finished > \"$SCRATCH/end\"")
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        let log = hub.state.value.logs[assignment.taskID] ?? []
        let line = OutputFilter.truncationLine(cap: 4096)
        #expect(log.count == 4096)
        #expect(Array(log.suffix(line.count)) == line)
        #expect(String(decoding: log, as: UTF8.self).components(separatedBy: "[outpost: log truncated").count == 2)
        #expect(String(decoding: log, as: UTF8.self).hasPrefix("line 1\nline 2\n"))
        #expect(hub.state.value.finishes[assignment.taskID]?.status == .succeeded)
        #expect(hub.state.value.finishes[assignment.taskID]?.logBytes == 4096)
        #expect(FileManager.default.fileExists(atPath: env.scratch + "/end"))
    }
}
