#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// GNU extensions the Swift `Glibc` module does not export (they sit behind
/// `_GNU_SOURCE`), looked up at run time so the agent still starts where one is
/// missing and can fall back.
enum GlibcExtras {
    /// `POSIX_SPAWN_SETSID` (glibc ≥ 2.26, musl): the child starts a new session,
    /// so it leads its own process group and the agent can signal the whole tree.
    static let spawnSetSID: Int32 = 0x80

    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

    /// `posix_spawn_file_actions_addchdir_np` (glibc ≥ 2.29, musl ≥ 1.1.24).
    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")
    /// `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34).
    static let addClosefrom: AddClosefrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    /// `pipe2`, to create pipes close-on-exec atomically.
    static let pipe2: Pipe2? = symbol("pipe2")

    /// `prctl` is variadic in C, which Swift cannot call; every option used here
    /// takes plain integers, so the fixed five-argument form is what the kernel sees.
    typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    static let prctl: Prctl? = symbol("prctl")
    /// `PR_SET_CHILD_SUBREAPER` of `<linux/prctl.h>` (not exported to Swift).
    static let prSetChildSubreaper: Int32 = 36

    static func symbol<T>(_ name: String) -> T? {
        // RTLD_DEFAULT is the null handle on glibc and musl.
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(pointer, to: T.self)
    }

    /// A pipe whose two ends are close-on-exec, so no other task's child inherits them.
    static func cloexecPipe() throws(AgentError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let rc: Int32
        if let pipe2 {
            rc = fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, O_CLOEXEC) }
        } else {
            rc = fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) }
            if rc == 0 {
                _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
                _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            }
        }
        guard rc == 0 else { throw AgentError(.io, "cannot create a pipe: \(errnoText(errno))") }
        return (fds[0], fds[1])
    }

    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
