import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Keeps the agent's own secrets out of reach of the tasks it runs (and of any
/// other process of its user): a task is the agent's child, so without this it
/// could read `/proc/$PPID/environ` (every `OUTPOST_SECRET_*` of the env provider),
/// `/proc/$PPID/cmdline` (a `--token` given in argv) or the agent's memory.
package enum ProcessHardening {
    /// `PR_SET_DUMPABLE` and `PR_GET_DUMPABLE` of `<linux/prctl.h>` (not exported to Swift).
    private static let prSetDumpable: Int32 = 4
    private static let prGetDumpable: Int32 = 3
    private static let prctl = GlibcExtras.prctl

    /// Makes the process non-dumpable: its `/proc/PID/environ`, `mem`, `maps`... become
    /// root-owned and unreadable to other processes of the same user, ptrace attach is
    /// refused and no core file is written. `/proc/PID/cmdline` stays world-readable
    /// (hence `scrubArguments`). A task does not inherit this: `execve` resets it.
    /// - Throws: `AgentError(.io)` when the kernel refuses (the agent must not run unprotected).
    package static func makeNonDumpable() throws(AgentError) {
        guard let prctl else {
            throw AgentError(.io, "cannot make the agent non-dumpable: this C library has no prctl")
        }
        guard prctl(prSetDumpable, 0, 0, 0, 0) == 0 else {
            throw AgentError(.io, "cannot make the agent non-dumpable: prctl(PR_SET_DUMPABLE): \(GlibcExtras.errnoText(errno))")
        }
    }

    /// Whether other processes of the same user may read this one's `/proc` files and memory.
    package static var isDumpable: Bool {
        guard let prctl else { return true }
        return prctl(prGetDumpable, 0, 0, 0, 0) != 0
    }

    /// Overwrites `value` with `*` wherever it is a whole argument, or the part after
    /// `=` of an `--option=value` argument, in the memory the kernel shows as
    /// `/proc/self/cmdline` (and so `ps`). The parsed copy the program already holds is
    /// untouched. Other users could read the argument from the start of the process
    /// until this call: that is why the warning points at `--token-file`.
    /// - Returns: how many arguments were overwritten.
    @discardableResult
    package static func scrubArguments(_ value: String) -> Int {
        let secret = Array(value.utf8)
        guard !secret.isEmpty, let (start, end) = argumentRange(),
            let base = UnsafeMutablePointer<UInt8>(bitPattern: start), end > start
        else { return 0 }
        let area = UnsafeMutableBufferPointer(start: base, count: Int(end - start))
        var scrubbed = 0
        var argumentStart = 0
        for index in 0...area.count where index == area.count || area[index] == 0 {
            let argument = argumentStart..<index
            argumentStart = index + 1
            guard argument.count >= secret.count else { continue }
            let valueStart = argument.upperBound - secret.count
            let wholeArgument = valueStart == argument.lowerBound
            let afterEquals = valueStart > argument.lowerBound && area[valueStart - 1] == UInt8(ascii: "=")
            guard wholeArgument || afterEquals, area[valueStart..<argument.upperBound].elementsEqual(secret) else { continue }
            for position in valueStart..<argument.upperBound { area[position] = UInt8(ascii: "*") }
            scrubbed += 1
        }
        return scrubbed
    }

    /// `arg_start` and `arg_end` of `/proc/self/stat` (fields 48 and 49): where the
    /// kernel reads this process's command line from.
    static func argumentRange(stat: String? = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) -> (UInt, UInt)? {
        // The command name (field 2) is in parentheses and may hold spaces.
        guard let stat, let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field N is fields[N - 3].
        guard fields.count > 46, let start = UInt(fields[45]), let end = UInt(fields[46]) else { return nil }
        return (start, end)
    }
}
