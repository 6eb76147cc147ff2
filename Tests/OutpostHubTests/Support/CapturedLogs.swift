import Logging
import Synchronization

/// Keeps every line a hub logs, message and metadata rendered as text, so a test
/// can check what the operator learns (and what the caller does not).
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "outpost.hub.test") { _ in Handler(sink: self) }
        logger.logLevel = .debug
        return logger
    }

    var all: [String] { lines.withLock { $0 } }

    /// Lines whose message contains `text`.
    func lines(containing text: String) -> [String] { all.filter { $0.contains(text) } }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

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
            sink.append("\(event.message) \(rendered)")
        }
    }
}
