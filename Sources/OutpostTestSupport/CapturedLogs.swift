package import Logging
import Synchronization

/// Keeps every line a hub or agent logs, with its level, message and metadata
/// rendered as text, so a test can check what the operator learns (and what the
/// caller does not).
package final class CapturedLogs: Sendable {
    package struct Line: Sendable, CustomStringConvertible {
        package let level: Logger.Level
        /// The message, then the metadata as `key=value`, sorted.
        package let text: String
        package var description: String { "[\(level)] \(text)" }
    }

    private let lines = Mutex<[Line]>([])
    private let label: String

    package init(label: String = "outpost.test") {
        self.label = label
    }

    package var logger: Logger {
        var logger = Logger(label: label) { _ in Handler(sink: self) }
        logger.logLevel = .debug
        return logger
    }

    package var all: [Line] { lines.withLock { $0 } }

    /// The texts of the lines whose text contains `text`.
    package func lines(containing text: String) -> [String] { all.map(\.text).filter { $0.contains(text) } }

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
