#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`): every connection holds a descriptor.
enum DescriptorLimit {
    /// Descriptors kept back from connections for the database, log files, the
    /// outbound HTTP client and the event loops.
    static let reserved = 256

    /// The soft limit now, or `nil` when it cannot be read.
    static func current() -> Int? {
        var limit = rlimit()
        guard getrlimit(resourceKind, &limit) == 0 else { return nil }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit to the hard limit (the default soft limit, often 1,024,
    /// is far below what 10,000 agents need). Returns the limits before and after;
    /// `nil` when they cannot be read or set.
    static func raiseSoftToHard() -> (before: Int, after: Int)? {
        var limit = rlimit()
        guard getrlimit(resourceKind, &limit) == 0 else { return nil }
        let before = limit.rlim_cur
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            guard setrlimit(resourceKind, &limit) == 0 else { return nil }
        }
        let show = { (value: rlim_t) in value == rlim_t.max ? Int.max : Int(clamping: value) }
        return (show(before), show(limit.rlim_cur))
    }

    /// The connection cap a descriptor limit leaves room for.
    static func connectionRoom(descriptorLimit: Int) -> Int {
        max(16, descriptorLimit - reserved)
    }

    #if canImport(Glibc)
    private static let resourceKind = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceKind = RLIMIT_NOFILE
    #endif
}
