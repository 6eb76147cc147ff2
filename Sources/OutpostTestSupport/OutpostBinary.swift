import Foundation

/// Finds the `outpost` executable that end-to-end tests start.
///
/// `OUTPOST_BINARY` wins; otherwise the debug build next to the package
/// (`swift build` before `swift test`, as scripts/test does).
package enum OutpostBinary {
    package static var path: String {
        if let explicit = ProcessInfo.processInfo.environment["OUTPOST_BINARY"] { return explicit }
        return packageRoot + "/.build/debug/outpost"
    }

    /// The package's root directory, derived from this file's location.
    package static var packageRoot: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // OutpostTestSupport
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // root
            .path
    }
}
