import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Finds a program the way `execvp` would, on the PATH the program will get, so a
/// missing program becomes a clear error instead of a failed launch (a task's
/// integration on the agent, an AWS `credential_process`).
package enum ExecutableLookup {
    /// The absolute path of `program`, or `nil` when no executable file by that name is on `path`.
    package static func find(_ program: String, path: String) -> String? {
        if program.contains("/") {
            return isExecutableFile(program) ? program : nil
        }
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            // An empty PATH entry means the current directory; a task never wants that.
            guard !directory.isEmpty else { continue }
            let candidate = directory.hasSuffix("/") ? "\(directory)\(program)" : "\(directory)/\(program)"
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        // FileManager, not stat(2): which module's `stat` the name means depends on the
        // target's other imports (X509 brings CoreFoundation's).
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return false
        }
        return access(path, X_OK) == 0
    }
}
