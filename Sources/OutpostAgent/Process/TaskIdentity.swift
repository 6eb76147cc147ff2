#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The user tasks run as (`run_as`), resolved once when the agent starts, so that a
/// task cannot read the agent's files, its `/proc` entries or its memory: the agent
/// (root) keeps its secrets, the task gets only its own directory and variables.
package struct TaskIdentity: Sendable, Equatable, CustomStringConvertible {
    /// The user's name, as given (or the name of the numeric id given).
    package var user: String
    /// The user's id (`uid_t`).
    package var uid: UInt32
    /// The user's primary group.
    package var gid: UInt32
    /// Every group the user is in (`getgrouplist`), set with `setgroups` before `setgid`/`setuid`.
    package var groups: [UInt32]
    /// The user's home directory from the password database (the task's HOME when it exists).
    package var home: String

    package var description: String { "\(user) (uid \(uid), gid \(gid))" }

    /// Looks `user` (a name or a numeric uid) up in the password database.
    /// - Parameter effectiveUID: the agent's effective uid (injected for tests).
    /// - Throws: `AgentError(.invalidConfiguration)` naming `run_as` when the user does not
    ///   exist, is root, or the agent cannot switch users (it does not run as root).
    package static func resolve(user: String, effectiveUID: UInt32 = geteuid()) throws(AgentError) -> TaskIdentity {
        guard let entry = lookup(user) else {
            throw AgentError(.invalidConfiguration, "agent run_as: no user \"\(user)\" on this host (see getent passwd)")
        }
        guard entry.uid != 0 else {
            throw AgentError(
                .invalidConfiguration,
                "agent run_as: \"\(user)\" is root; tasks must run as an unprivileged user for run_as to protect the agent")
        }
        guard effectiveUID == 0 else {
            throw AgentError(
                .invalidConfiguration,
                "agent run_as: switching tasks to \"\(user)\" needs the agent to run as root (it runs as uid \(effectiveUID)); "
                    + "start it as root, or drop run_as and start the agent as the user tasks should run as")
        }
        return entry
    }

    private static func lookup(_ user: String) -> TaskIdentity? {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        let entry: (name: String, home: String, uid: uid_t, gid: gid_t)? = buffer.withUnsafeMutableBufferPointer { storage in
            var rc = getpwnam_r(user, &record, storage.baseAddress!, storage.count, &result)
            if rc != 0 || result == nil, let uid = uid_t(user) {
                rc = getpwuid_r(uid, &record, storage.baseAddress!, storage.count, &result)
            }
            // The strings point into `storage`: copy them while it is valid.
            guard rc == 0, result != nil, let name = record.pw_name else { return nil }
            let home = record.pw_dir.map { String(cString: $0) } ?? "/"
            return (String(cString: name), home, record.pw_uid, record.pw_gid)
        }
        guard let (name, home, uid, gid) = entry else { return nil }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(name, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count) + 64)
            count = Int32(groups.count)
        }
        return TaskIdentity(user: name, uid: uid, gid: gid, groups: Array(groups.prefix(Int(count))), home: home)
    }
}
