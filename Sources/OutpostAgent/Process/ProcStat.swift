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
        parse(bytes: Array(text.utf8))
    }

    /// Parses the bytes of `/proc/PID/stat` without building strings: the agent
    /// reads every process's stat after each task, so this is on a hot path.
    static func parse<Bytes: RandomAccessCollection<UInt8>>(bytes: Bytes) -> ProcStat? where Bytes.Index == Int {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
            let close = bytes.lastIndex(of: UInt8(ascii: ")")),
            let pid = number(bytes[bytes.startIndex..<open], as: pid_t.self)
        else { return nil }
        // fields[0] is field 3 (state); field N is fields[N - 3]. Only the first 20 are needed.
        var fields: [Range<Int>] = []
        fields.reserveCapacity(20)
        var index = close + 1
        while index < bytes.endIndex, fields.count < 20 {
            while index < bytes.endIndex, bytes[index] == UInt8(ascii: " ") { index += 1 }
            let start = index
            while index < bytes.endIndex, bytes[index] != UInt8(ascii: " "), bytes[index] != UInt8(ascii: "\n") { index += 1 }
            if start < index { fields.append(start..<index) }
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "\n") { break }
        }
        guard fields.count == 20, fields[0].count == 1,
            let group = number(bytes[fields[2]], as: pid_t.self), let session = number(bytes[fields[3]], as: pid_t.self),
            let start = number(bytes[fields[19]], as: UInt64.self)
        else { return nil }
        let state = Character(Unicode.Scalar(bytes[fields[0].lowerBound]))
        return ProcStat(pid: pid, state: state, processGroup: group, session: session, startTime: start)
    }

    /// A decimal number (optionally negative, surrounded by spaces), or `nil`.
    private static func number<Bytes: BidirectionalCollection<UInt8>, N: FixedWidthInteger>(_ bytes: Bytes, as: N.Type) -> N? {
        let space = UInt8(ascii: " ")
        guard let first = bytes.firstIndex(where: { $0 != space }), let last = bytes.lastIndex(where: { $0 != space })
        else { return nil }
        var digits = bytes[first...last][...]
        let negative = N.isSigned && digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var value: N = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(N(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return negative ? 0 - value : value
    }

    /// Reads a live process's stat; `nil` when it does not exist (or is unreadable).
    static func read(pid: pid_t) -> ProcStat? {
        guard let bytes = readProcFile("/proc/\(pid)/stat") else { return nil }
        return parse(bytes: bytes)
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
