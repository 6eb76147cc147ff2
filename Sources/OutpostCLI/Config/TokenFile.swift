import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A token kept in a file (`--token-file`), so it never shows in `ps` or
/// `/proc/PID/cmdline` as a `--token` argument does.
enum TokenFile {
    /// Reads the token: the file's text without surrounding whitespace.
    /// - Returns: the token, and a warning when group or others may read the file.
    /// - Throws: `ConfigError` naming the key and the file when it cannot be read or is empty.
    static func read(path: String, key: String, origin: ConfigOrigin) throws(ConfigError) -> (token: String, warning: String?) {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            // The operating system's reason (ENOENT, EACCES...), as strerror words it.
            let code = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code ?? Int(ENOENT)
            throw ConfigError(
                key: key, origin: origin, problem: "cannot read the token file \(path): \(String(cString: strerror(Int32(code))))")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw ConfigError(key: key, origin: origin, problem: "the token file \(path) is not a regular file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: key, origin: origin, problem: "cannot read the token file \(path): \(String(cString: strerror(errno)))")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw ConfigError(key: key, origin: origin, problem: "the token file \(path) is empty")
        }
        guard !token.contains(where: { $0.isNewline }) else {
            throw ConfigError(key: key, origin: origin, problem: "the token file \(path) holds more than one line; it must hold the token only")
        }
        let permissions = ((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777) & 0o777
        let warning: String? =
            permissions & 0o077 == 0
            ? nil
            : "the token file \(path) is accessible to group or others (mode \(String(permissions, radix: 8))); "
                + "restrict it with `chmod 600 \(path)`"
        return (token, warning)
    }
}
