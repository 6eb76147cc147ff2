#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few fields of `/proc/PID/stat` the agent needs to recognise its own
/// processes after a restart without ever signalling a reused pid.
struct ProcStat: Sendable, Equatable {
    var pid: pid_t
    /// `R`, `S`, `D`, `Z` (zombie: dead, waiting to be reaped), ...
    var state: Character
    var processGroup: pid_t
    var session: pid_t
    /// Start time in clock ticks after boot: with the pid, it names one process for the whole uptime.
    var startTime: UInt64

    /// Parses the text of `/proc/PID/stat`. The command name (field 2) may hold
    /// spaces and parentheses, so fields are counted after its last `)`.
    static func parse(_ text: String) -> ProcStat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
            let pid = pid_t(text[..<open].trimmingCharacters(" "))
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field N is fields[N - 3].
        guard fields.count > 19, let state = fields[0].first,
            let group = pid_t(fields[2]), let session = pid_t(fields[3]), let start = UInt64(fields[19])
        else { return nil }
        return ProcStat(pid: pid, state: state, processGroup: group, session: session, startTime: start)
    }

    /// Reads a live process's stat; `nil` when it does not exist (or is unreadable).
    static func read(pid: pid_t) -> ProcStat? {
        guard let bytes = readProcFile("/proc/\(pid)/stat") else { return nil }
        return parse(String(decoding: bytes, as: UTF8.self))
    }

    /// `true` when the process's initial environment holds exactly `entry` (`NAME=value`).
    static func environment(of pid: pid_t, contains entry: String) -> Bool {
        guard let bytes = readProcFile("/proc/\(pid)/environ") else { return false }
        let wanted = Array(entry.utf8)
        return bytes.split(separator: 0, omittingEmptySubsequences: true).contains { $0.elementsEqual(wanted) }
    }

    /// Pids of every process visible in `/proc`.
    static func allPIDs() -> [pid_t] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var pids: [pid_t] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let pid = pid_t(name) { pids.append(pid) }
        }
        return pids
    }

    /// `true` when `pid` no longer runs: gone, or a zombie (dead; in a container
    /// whose init does not reap, orphans can stay zombies for a long time).
    static func isGone(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        return read(pid: pid)?.state == "Z"
    }

    /// Reads a small file completely (procfs files report size 0, so no stat-then-read).
    static func readProcFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                result += buffer[0..<n]
            } else if n == 0 {
                return result
            } else if errno != EINTR {
                return nil
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(_ character: Character) -> Substring {
        var s = self
        while s.first == character { s.removeFirst() }
        while s.last == character { s.removeLast() }
        return s
    }
}
