import OutpostCore
import Foundation
import Logging
@testable import OutpostAgent
import OutpostClient
import OutpostTestSupport
import Testing

/// A log receiver with the hub's append semantics and scripted failures.
final class RecordingSink: LogSink {
    enum Injection: Sendable {
        /// Fail before storing anything.
        case unreachable
        /// Store the chunk, then lose the answer.
        case answerLost
        /// Before this call the receiver lost its last `count` bytes (a restart that rolled back).
        case loseTail(count: Int)
        case refuse(ClientError)
    }

    struct State: Sendable {
        var stored: [UInt8] = []
        /// Offsets and sizes of the chunks that arrived, failed or not.
        var chunks: [(offset: Int64, count: Int)] = []
        var calls = 0
    }

    let state = WatchedState(State())
    let inject: @Sendable (Int) -> Injection?

    init(inject: @escaping @Sendable (Int) -> Injection? = { _ in nil }) {
        self.inject = inject
    }

    func append(offset: Int64, bytes: [UInt8]) async throws(ClientError) -> Int64 {
        let result = state.update { state -> Result<Int64, ClientError> in
            state.calls += 1
            state.chunks.append((offset, bytes.count))
            let injection = inject(state.calls)
            if case .unreachable = injection { return .failure(ClientError(.unreachable, "connection refused")) }
            if case .refuse(let error) = injection { return .failure(error) }
            if case .loseTail(let count) = injection { state.stored.removeLast(min(count, state.stored.count)) }
            guard offset <= Int64(state.stored.count) else {
                return .failure(
                    ClientError(.http(status: 409, code: .logGap), "gap", expectedOffset: Int64(state.stored.count)))
            }
            let overlap = Int(Int64(state.stored.count) - offset)
            if overlap < bytes.count { state.stored += bytes[overlap...] }
            if case .answerLost = injection { return .failure(ClientError(.unreachable, "connection reset")) }
            return .success(Int64(state.stored.count))
        }
        return try result.get()
    }
}

@Suite("Log shipping")
struct LogShipperTests {
    /// The failure-injection test retries hundreds of times: keep its output readable.
    let quietLogger: Logger = {
        var logger = Logger(label: "outpost-agent-tests")
        logger.logLevel = .error
        return logger
    }()

    func makeSpool(_ clock: any AgentClock) throws -> (LogSpool, String) {
        let directory = NSTemporaryDirectory() + "outpost-shipper-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (try LogSpool(path: directory + "/task.log", clock: clock), directory)
    }

    func shipper(
        _ spool: LogSpool, _ sink: any LogSink, clock: any AgentClock, flushBytes: Int, interval: Duration,
        maxChunkBytes: Int? = nil,
        backoff: Backoff = Backoff(initial: .milliseconds(1), maximum: .milliseconds(4))
    ) -> LogShipper {
        LogShipper(
            spool: spool, sink: sink, clock: clock, flushBytes: flushBytes, flushInterval: interval, backoff: backoff,
            logger: quietLogger, maxChunkBytes: maxChunkBytes ?? flushBytes)
    }

    @Test("a chunk goes out as soon as flushBytes are pending; the rest waits for the interval or the end")
    func flushOnBytes() async throws {
        let clock = ManualClock()
        let (spool, directory) = try makeSpool(clock)
        defer {
            spool.remove()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let sink = RecordingSink()
        async let outcome = shipper(spool, sink, clock: clock, flushBytes: 10, interval: .seconds(3600)).run()

        try spool.append(Array(repeating: 7, count: 25))
        _ = await sink.state.wait(until: { $0.chunks.count == 2 })
        await clock.waitForSleepers()
        // The shipper now sleeps on its interval timer with 5 bytes pending: nothing else went out.
        #expect(sink.state.value.chunks.map(\.count) == [10, 10])
        #expect(clock.nextDeadline == .seconds(3600))

        spool.finishWriting()
        #expect(await outcome == .delivered(bytes: 25))
        #expect(sink.state.value.chunks.map(\.count) == [10, 10, 5])
        #expect(sink.state.value.stored == Array(repeating: 7, count: 25))
    }

    @Test("a backlog goes out in chunks of up to maxChunkBytes, not flushBytes")
    func backlogInLargeChunks() async throws {
        let clock = ManualClock()
        let (spool, directory) = try makeSpool(clock)
        defer {
            spool.remove()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let sink = RecordingSink()
        // All 250 bytes are spooled before the shipper looks: one backlog.
        try spool.append(Array(repeating: 3, count: 250))
        spool.finishWriting()
        let outcome = await shipper(spool, sink, clock: clock, flushBytes: 10, interval: .seconds(3600), maxChunkBytes: 100).run()
        #expect(outcome == .delivered(bytes: 250))
        #expect(sink.state.value.chunks.map(\.count) == [100, 100, 50])
        #expect(sink.state.value.stored == Array(repeating: 3, count: 250))
    }

    @Test("pending bytes go out flushInterval after the first unsent byte, or earlier once flushBytes are pending")
    func flushOnInterval() async throws {
        let clock = ManualClock()
        let (spool, directory) = try makeSpool(clock)
        defer {
            spool.remove()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let sink = RecordingSink()
        async let outcome = shipper(spool, sink, clock: clock, flushBytes: 1000, interval: .milliseconds(200)).run()

        try spool.append(Array("hello".utf8))
        await clock.waitForSleepers()
        #expect(clock.nextDeadline == .milliseconds(200))
        clock.advance(by: .milliseconds(199))
        #expect(sink.state.value.calls == 0)
        clock.advance(by: .milliseconds(1))
        _ = await sink.state.wait(until: { $0.chunks.count == 1 })
        #expect(sink.state.value.chunks.map(\.count) == [5])

        // A new byte restarts the timer from when it was spooled.
        try spool.append(Array("abc".utf8))
        await clock.waitForSleepers()
        #expect(clock.nextDeadline == .milliseconds(400))
        // Crossing flushBytes sends at once, without the clock moving.
        try spool.append(Array(repeating: 1, count: 997))
        _ = await sink.state.wait(until: { $0.chunks.count == 2 })
        #expect(sink.state.value.chunks.last?.count == 1000)
        #expect(clock.now() == .milliseconds(200))

        spool.finishWriting()
        #expect(await outcome == .delivered(bytes: 1005))
    }

    @Test("through refused connections, lost answers and a receiver that lost data, the log arrives byte-identical")
    func resumeByteIdentical() async throws {
        let clock = SystemAgentClock()
        let (spool, directory) = try makeSpool(clock)
        defer {
            spool.remove()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let sink = RecordingSink { call in
            var rng = SeededRandom(seed: UInt64(call))
            switch rng.next() % 100 {
            case 0..<25: return .unreachable
            case 25..<35: return .answerLost
            case 35..<38: return .loseTail(count: Int(rng.next() % 12_000))
            default: return nil
            }
        }
        let run = shipper(spool, sink, clock: clock, flushBytes: 4096, interval: .milliseconds(1))
        async let outcome = run.run()

        var rng = SeededRandom(seed: 42)
        var produced: [UInt8] = []
        while produced.count < 1 << 20 {
            let chunk = (0..<Int(rng.next() % 9000 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            produced += chunk
            try spool.append(chunk)
            if rng.next() % 8 == 0 { await Task.yield() }
        }
        spool.finishWriting()

        #expect(await outcome == .delivered(bytes: Int64(produced.count)))
        #expect(sink.state.value.stored == produced)
        #expect(sink.state.value.chunks.allSatisfy { $0.count <= 4096 })
    }

    @Test("task_finished stops shipping; log_too_large stops at what the hub has")
    func hubRefusals() async throws {
        for (error, expected) in [
            (ClientError(.http(status: 409, code: .taskFinished), "finished"), LogShipper.Outcome.taskGone),
            (ClientError(.http(status: 413, code: .logTooLarge), "too large"), .stopped(bytes: 10)),
        ] {
            let clock = SystemAgentClock()
            let (spool, directory) = try makeSpool(clock)
            defer {
                spool.remove()
                try? FileManager.default.removeItem(atPath: directory)
            }
            let sink = RecordingSink { call in call == 2 ? .refuse(error) : nil }
            try spool.append(Array(repeating: 1, count: 25))
            let outcome = await shipper(spool, sink, clock: clock, flushBytes: 10, interval: .milliseconds(1)).run()
            #expect(outcome == expected)
        }
    }
}
