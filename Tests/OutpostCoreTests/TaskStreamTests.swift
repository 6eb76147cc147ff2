import Foundation
import OutpostCore
import OutpostTestSupport
import Testing

@Suite("Task stream (submit and follow)")
struct TaskStreamTests {
    private let task = TaskRecord(
        id: "tsk_1", target: "local", status: .queued, createdAt: Date(timeIntervalSince1970: 1_800_000_000),
        timeoutSeconds: 60)

    /// A stream as the hub writes it: accepted, log chunks (bytes of every value,
    /// newlines and JSON-looking text included), an idle, finished.
    private func stream(chunks: [[UInt8]]) -> (bytes: [UInt8], log: [UInt8], final: TaskRecord) {
        var final = task
        final.status = .succeeded
        var bytes = TaskStream.headerLine(.accepted(task))
        var log: [UInt8] = []
        for chunk in chunks {
            bytes += TaskStream.headerLine(.log(offset: Int64(log.count), length: chunk.count)) + chunk
            log += chunk
            bytes += TaskStream.headerLine(.idle)
        }
        bytes += TaskStream.headerLine(.finished(final))
        return (bytes, log, final)
    }

    /// Feeds `bytes` cut at `cuts`, and checks what comes out.
    private func decode(_ bytes: [UInt8], cuts: [Int]) throws -> (events: [TaskStreamEvent], log: [UInt8]) {
        var decoder = TaskStreamDecoder()
        var events: [TaskStreamEvent] = []
        var log: [UInt8] = []
        var start = 0
        for cut in cuts.sorted() + [bytes.count] where cut >= start {
            try decoder.feed(bytes[start..<cut]) { event in
                if case .log(let offset, let piece) = event {
                    #expect(offset == Int64(log.count), "a log piece at \(offset) after \(log.count) bytes")
                    log += piece
                } else {
                    events.append(event)
                }
            }
            start = cut
        }
        #expect(decoder.endedComplete())
        return (events, log)
    }

    @Test("events and every log byte come out in order, wherever the pieces are cut")
    func anySplit() throws {
        let chunks: [[UInt8]] = [
            Array("{\"event\":\"finished\"}\n".utf8), [], (0...255).map(UInt8.init), Array("\n\n\n".utf8),
        ]
        let (bytes, log, final) = stream(chunks: chunks)
        // Every single cut point, then many random multi-cuts (seeded, so repeatable).
        var cutSets = (0...bytes.count).map { [$0] }
        var generator = SeededRandom(seed: 16)
        for _ in 0..<300 {
            cutSets.append((0..<Int.random(in: 2...12, using: &generator)).map { _ in Int.random(in: 0...bytes.count, using: &generator) })
        }
        for cuts in cutSets {
            let decoded = try decode(bytes, cuts: cuts)
            #expect(decoded.log == log)
            #expect(decoded.events.first == .accepted(task))
            #expect(decoded.events.last == .finished(final))
            #expect(decoded.events.count == 2 + chunks.count)
        }
    }

    @Test("a stream cut before its finished event is not complete")
    func cutStream() throws {
        let (bytes, _, _) = stream(chunks: [Array("partial log".utf8)])
        for end in [0, 10, bytes.count - 10] {
            var decoder = TaskStreamDecoder()
            try decoder.feed(bytes[0..<end]) { _ in }
            #expect(!decoder.endedComplete())
        }
    }

    @Test("malformed streams are refused with what was wrong, never with their content")
    func malformed() {
        let canary = "CANARY-task-stream-7f3a"
        let cases: [(bytes: [UInt8], says: String)] = [
            (TaskStream.headerLine(.idle), "must start with \"accepted\""),
            (Array("\(canary)\n".utf8), "not JSON"),
            (Array("{\"event\":\"\(canary)\"}\n".utf8), "event"),
            (TaskStream.headerLine(.accepted(task)) + Array("{\"event\":\"log\",\"offset\":0}\n".utf8), "length"),
            (TaskStream.headerLine(.accepted(task)) + TaskStream.headerLine(.accepted(task)), "twice"),
            (TaskStream.headerLine(.accepted(task)) + TaskStream.headerLine(.log(offset: -1, length: 1)), "negative"),
            (TaskStream.headerLine(.accepted(task)) + TaskStream.headerLine(.finished(task)) + [0x41], "goes on"),
        ]
        for (bytes, says) in cases {
            var decoder = TaskStreamDecoder()
            do {
                try decoder.feed(bytes) { _ in }
                Issue.record("accepted a malformed stream expected to say \(says)")
            } catch let error as WireDecodingError {
                #expect(error.message.contains(says), "\(error.message)")
                #expect(!error.message.contains(canary))
            } catch {
                Issue.record("not a WireDecodingError: \(type(of: error))")
            }
        }
    }
}
