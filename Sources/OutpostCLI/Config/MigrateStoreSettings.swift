import Foundation
import OutpostStore

/// What `outpost server migrate-store` copies from and to, checked before anything is opened.
struct MigrateStoreSettings: Sendable {
    /// The hub's SQLite file (`--from`; a data directory means its `outpost.sqlite`).
    var source: String
    /// The PostgreSQL database to fill (`--to`; password from the URL, PGPASSWORD or `--database-password-file`).
    var destination: PostgresSettings

    /// The hub's database file inside a data directory.
    static let databaseFileName = "outpost.sqlite"

    /// - Throws: `ConfigError` naming the flag: no such file, not readable, not a postgres:// URL,
    ///   an unreadable password file. Never echoes a password.
    static func resolve(
        from: String, to: String, passwordFile: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> MigrateStoreSettings {
        let destination: PostgresSettings
        do {
            destination = try PostgresSettings(url: to, environment: environment, passwordFile: passwordFile)
        } catch {
            let flag = error.message.contains("password file") ? "--database-password-file" : "--to"
            throw ConfigError(key: flag, origin: .defaultValue, problem: error.message)
        }
        return MigrateStoreSettings(source: try sourceFile(from), destination: destination)
    }

    /// `path` itself, or `path/outpost.sqlite` for a data directory; it must exist and be readable,
    /// as opening SQLite on a mistyped path would create an empty database there.
    private static func sourceFile(_ path: String) throws(ConfigError) -> String {
        var isDirectory: ObjCBool = false
        var file = path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = (path as NSString).appendingPathComponent(databaseFileName)
        }
        guard FileManager.default.fileExists(atPath: file) else {
            throw ConfigError(
                key: "--from", origin: .defaultValue,
                problem: "\(file): no such file (give the hub's \(databaseFileName), or its data directory)")
        }
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw ConfigError(key: "--from", origin: .defaultValue, problem: "\(file): not readable by this user")
        }
        return file
    }
}
