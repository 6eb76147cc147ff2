import Foundation
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostCLI

/// `outpost server migrate-store` flags: checked before either database is opened.
@Suite("migrate-store settings")
struct MigrateStoreSettingsTests {
    static let url = "postgres://outpost@db.internal/outpost?sslmode=require"

    @Test("--from takes the database file or the data directory that holds it")
    func sourceFileOrDirectory() throws {
        let directory = try TemporaryDirectory(prefix: "outpost-migrate-settings")
        defer { directory.remove() }
        let file = directory.file("outpost.sqlite")
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        for from in [file, directory.path] {
            let settings = try MigrateStoreSettings.resolve(from: from, to: Self.url, passwordFile: nil, environment: [:])
            #expect(settings.source == file)
            #expect(settings.destination.host == "db.internal")
            #expect(settings.destination.sslMode == .require)
        }
    }

    @Test("a missing file is refused, not created: opening SQLite there would make an empty database")
    func missingSource() throws {
        let directory = try TemporaryDirectory(prefix: "outpost-migrate-settings")
        defer { directory.remove() }
        let error = #expect(throws: ConfigError.self) {
            try MigrateStoreSettings.resolve(from: directory.path, to: Self.url, passwordFile: nil, environment: [:])
        }
        #expect(
            error?.message
                == "--from: \(directory.file("outpost.sqlite")): no such file (give the hub's outpost.sqlite, or its data directory)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("outpost.sqlite")))
    }

    @Test("the password comes from the URL, else PGPASSWORD, else the file; a problem names the flag, never the password")
    func password() throws {
        let directory = try TemporaryDirectory(prefix: "outpost-migrate-settings")
        defer { directory.remove() }
        let file = directory.file("outpost.sqlite")
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let passwordFile = directory.file("db-password")
        try "from-file\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)

        let fromFile = try MigrateStoreSettings.resolve(from: file, to: Self.url, passwordFile: passwordFile, environment: [:])
        #expect(fromFile.destination.password == "from-file")
        let fromEnvironment = try MigrateStoreSettings.resolve(
            from: file, to: Self.url, passwordFile: passwordFile, environment: ["PGPASSWORD": "from-env"])
        #expect(fromEnvironment.destination.password == "from-env")
        let fromURL = try MigrateStoreSettings.resolve(
            from: file, to: "postgres://outpost:from-url@db.internal/outpost", passwordFile: passwordFile,
            environment: ["PGPASSWORD": "from-env"])
        #expect(fromURL.destination.password == "from-url")
        #expect(!"\(fromURL.destination)".contains("from-url"))

        for (to, passwordFile, flag) in [
            ("mysql://outpost:canary-pw@db/outpost", nil, "--to"),
            ("postgres://outpost:canary-pw@db.internal", nil, "--to"),
            (Self.url, directory.file("missing"), "--database-password-file"),
        ] {
            do {
                _ = try MigrateStoreSettings.resolve(from: file, to: to, passwordFile: passwordFile, environment: [:])
                Issue.record("\(flag) was accepted")
            } catch {
                #expect(error.message.hasPrefix("\(flag): "), "\(error.message)")
                #expect(!error.message.contains("canary-pw"))
            }
        }
    }
}
