import Foundation

/// What `/proc` says about a running process: memory, threads, descriptors, CPU.
struct ProcessProbe: Sendable {
    let pid: Int32

    /// Resident set size in MiB (`VmRSS`).
    func residentMiB() -> Double {
        Double(statusField("VmRSS") ?? 0) / 1024
    }

    /// Peak resident set size in MiB (`VmHWM`).
    func peakResidentMiB() -> Double {
        Double(statusField("VmHWM") ?? 0) / 1024
    }

    /// Private anonymous memory in MiB (`RssAnon`): heap and stacks, without
    /// the pages of the executable and libraries, which are shared and reclaimable.
    func anonymousMiB() -> Double {
        Double(statusField("RssAnon") ?? 0) / 1024
    }

    func threads() -> Int { statusField("Threads") ?? 0 }

    /// Open file descriptors (entries of `/proc/PID/fd`).
    func openFiles() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    /// User plus system CPU time of the process itself, in seconds; with `reapedChildren`,
    /// also that of the children it has waited for (which a live child's own figure leaves out
    /// once it exits).
    func cpuSeconds(reapedChildren: Bool = false) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after "(comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 14, let user = Double(fields[11]), let system = Double(fields[12]),
              let childUser = Double(fields[13]), let childSystem = Double(fields[14])
        else { return 0 }
        let ticks = user + system + (reapedChildren ? childUser + childSystem : 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The parent's process id (field 4 of `/proc/PID/stat`); `nil` once the process is gone.
    func parentPID() -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// A numeric field of `/proc/PID/status` (kB for memory fields).
    private func statusField(_ name: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
        }
        return nil
    }
}

/// Facts about the machine for the results file.
enum MachineInfo {
    static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }
    static var memoryGiB: Double { Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30) }

    static var cpuModel: String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in info.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        }
        return "unknown"
    }

    static var kernel: String {
        (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }

    static var summary: String {
        "\(cores) cores (\(cpuModel)), \(format(memoryGiB, decimals: 0)) GiB, Linux \(kernel)"
    }
}
