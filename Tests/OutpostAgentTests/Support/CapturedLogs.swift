import Logging
import Synchronization

/// Keeps every line the agent logs, with its level, so a test can check what the
/// operator learns.
final class CapturedLogs: Sendable {
    struct Line: Sendable, CustomStringConvertible {
        let level: Logger.Level
        /// The message, then the metadata as `key=value`, sorted.
        let text: String
        var description: String { "[\(level)] \(text)" }
    }

    private let lines = Mutex<[Line]>([])

    var logger: Logger {
        var logger = Logger(label: "outpost.agent.test") { _ in Handler(sink: self) }
        logger.logLevel = .debug
        return logger
    }

    var all: [Line] { lines.withLock { $0 } }

    fileprivate func append(_ line: Line) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            sink.append(Line(level: event.level, text: "\(event.message) \(rendered)"))
        }
    }
}
