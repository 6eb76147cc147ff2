import OutpostCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `DIR/admin-token`: created with mode 0600 from the start (never readable
/// by others, not even for a moment), replaced if it exists.
enum AdminTokenFile {
    static func create(token: String, at path: String) throws {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0o600)
        guard fd >= 0 else {
            throw HubError(.startup, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((token + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw HubError(.startup, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        // The umask may have narrowed it further; make it exactly 0600.
        fchmod(fd, 0o600)
    }
}
