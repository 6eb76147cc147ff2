/// Ends the command with an exit code, optionally printing one line to stderr
/// first (`outpost: ...`). A non-zero exit is a result here, not a crash.
struct CLIExit: Error {
    var code: Int32
    var message: String?

    init(code: Int32, message: String? = nil) {
        self.code = code
        self.message = message
    }

    /// Exit codes the CLI documents (docs/cli.md).
    enum Code {
        /// An API call failed (hub unreachable, not found, refused).
        static let failure: Int32 = 1
        /// Bad flags, config file or environment.
        static let usage: Int32 = 2
        /// The task timed out (as `timeout(1)` does).
        static let timedOut: Int32 = 124
        /// The task never produced an exit code: rejected or lost.
        static let noResult: Int32 = 125
        /// The task was cancelled.
        static let cancelled: Int32 = 130
    }

    static func usage(_ message: String) -> CLIExit { CLIExit(code: Code.usage, message: message) }
}
