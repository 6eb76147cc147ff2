import Logging
import OutpostMasking
import Synchronization

/// The output reader thread's end of the log pipeline: raw bytes → conversion,
/// masking and cap (`OutputFilter`) → spool.
///
/// Only the reader thread calls it; the lock is uncontended and exists so the
/// filter's state can live in a `Sendable` object handed to that thread.
final class TaskLogWriter: Sendable {
    let spool: LogSpool
    private let filter: Mutex<OutputFilter>
    private let failed = Atomic<Bool>(false)
    private let logger: Logger

    init(
        spool: LogSpool, masker: Masker, maxLogBytes: Int64, output: Integration.OutputFormat = .text, logger: Logger
    ) {
        self.spool = spool
        filter = Mutex(
            OutputFilter(masker: masker, cap: maxLogBytes, conversion: output == .csvFromTSV ? TSVToCSV() : nil))
        self.logger = logger
    }

    /// `true` once output was dropped at the cap.
    var truncated: Bool { filter.withLock { $0.truncated } }

    /// Filters and spools one chunk of raw output.
    func write(_ chunk: [UInt8]) {
        let bytes = filter.withLock { $0.accept(chunk) }
        spoolBytes(bytes)
    }

    /// End of output: flushes what the masker held back and closes the spool for writing.
    func finish() {
        let bytes = filter.withLock { $0.finish() }
        spoolBytes(bytes)
        spool.finishWriting()
    }

    private func spoolBytes(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, !failed.load(ordering: .relaxed) else { return }
        do {
            try spool.append(bytes)
        } catch {
            // A full disk: keep draining the pipe so the task is not blocked, but
            // stop spooling; the hub gets the log up to here.
            failed.store(true, ordering: .relaxed)
            logger.error("task output is no longer recorded: \(error.message)")
        }
    }
}
