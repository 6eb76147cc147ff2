import Foundation
import Logging

/// Process-wide logging: human-readable lines on stderr, level from
/// `OUTPOST_LOG_LEVEL` (trace, debug, info, notice, warning, error; default info).
enum LogSetup {
    static func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let level = environment["OUTPOST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    static func logger(_ label: String) -> Logger { Logger(label: label) }
}
