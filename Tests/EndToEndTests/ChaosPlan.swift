import OutpostCore
import OutpostTestSupport

/// One task of the chaos test: the script it runs and what a run of it must leave behind.
struct ChaosTask: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        /// Prints its lines and exits 0.
        case succeeds
        /// Prints its lines and a line on stderr, then exits with `exitCode`.
        case fails
        /// Prints half its lines, sleeps briefly, prints the rest, exits 0.
        case sleeps
        /// Prints half its lines, then sleeps far past its short timeout.
        case hangs
    }

    /// Position in submission order (printed in the task's own output, so logs never mix).
    let index: Int
    let kind: Kind
    let script: String
    /// The whole log of a run that ends by itself; for `hangs`, what it prints before it hangs.
    let expectedLog: [UInt8]
    /// The script's own exit code when it ends by itself; `nil` for `hangs`.
    let exitCode: Int32?
    /// The task's timeout, sent with the request.
    let timeoutSeconds: Int
    /// A file the script appends a line to each time it starts, so a second run
    /// shows even when the hub accepted only one report.
    let runsFile: String

    /// The statuses this task may end in under chaos: its own result, or `lost`.
    var acceptableStatuses: Set<TaskStatus> {
        switch kind {
        case .succeeds, .sleeps: [.succeeded, .lost]
        case .fails: [.failed, .lost]
        case .hangs: [.timedOut, .lost]
        }
    }
}

/// The chaos test's tasks, drawn from a seed: short bash scripts whose output is
/// computed by bash (loops, arithmetic, padding) and predicted here byte for byte.
enum ChaosPlan {
    /// Timeout of every task that is not meant to hang. Far above any run's length,
    /// so that only a stuck task reaches it.
    static let ordinaryTimeoutSeconds = 30

    /// - Parameter runsDirectory: where each task's script records its runs.
    static func tasks(count: Int, random: inout SeededRandom, runsDirectory: String) -> [ChaosTask] {
        (0..<count).map { task(index: $0, random: &random, runsFile: "\(runsDirectory)/\($0).runs") }
    }

    private static func task(index: Int, random: inout SeededRandom, runsFile: String) -> ChaosTask {
        let roll = Int.random(in: 0..<100, using: &random)
        let kind: ChaosTask.Kind =
            switch roll {
            case 0..<60: .succeeds
            case 60..<77: .fails
            case 77..<97: .sleeps
            default: .hangs
            }
        let lines = Int.random(in: 1...40, using: &random)
        let width = Int.random(in: 0...97, using: &random)
        let half = (lines + 1) / 2
        var script = """
            echo "$$" >> '\(runsFile)'
            k=\(index); w=\(width)
            emit() {
              for ((i = $1; i <= $2; i++)); do
                printf -v pad '%*s' $(( (i * w) % 211 )) ''
                printf 'task %04d line %03d sum %d %s\\n' "$k" "$i" $(( (k * 7919 + i * i * 104729) % 1000003 )) "${pad// /=}"
              done
            }

            """
        var expected = ""
        var exitCode: Int32? = 0
        var timeout = ordinaryTimeoutSeconds
        switch kind {
        case .succeeds:
            script += "emit 1 \(lines)\n"
            expected = emitted(index: index, width: width, from: 1, to: lines)
        case .fails:
            let code = Int32.random(in: 1...113, using: &random)
            script += "emit 1 \(lines)\necho \"task \(index) fails with \(code)\" >&2\nexit \(code)\n"
            expected = emitted(index: index, width: width, from: 1, to: lines) + "task \(index) fails with \(code)\n"
            exitCode = code
        case .sleeps:
            let pause = Int.random(in: 1...9, using: &random)
            script += "emit 1 \(half)\nsleep 0.\(pause)\nemit \(half + 1) \(lines)\n"
            expected = emitted(index: index, width: width, from: 1, to: lines)
        case .hangs:
            timeout = Int.random(in: 1...2, using: &random)
            script += "emit 1 \(half)\nsleep 30\nemit \(half + 1) \(lines)\n"
            expected = emitted(index: index, width: width, from: 1, to: half)
            exitCode = nil
        }
        return ChaosTask(
            index: index, kind: kind, script: script, expectedLog: Array(expected.utf8), exitCode: exitCode,
            timeoutSeconds: timeout, runsFile: runsFile)
    }

    /// What `emit first last` prints for task `index`.
    private static func emitted(index: Int, width: Int, from first: Int, to last: Int) -> String {
        guard first <= last else { return "" }
        var text = ""
        for i in first...last {
            let sum = (index * 7919 + i * i * 104_729) % 1_000_003
            let pad = String(repeating: "=", count: (i * width) % 211)
            text += "task \(zeroPadded(index, 4)) line \(zeroPadded(i, 3)) sum \(sum) \(pad)\n"
        }
        return text
    }

    private static func zeroPadded(_ value: Int, _ digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
