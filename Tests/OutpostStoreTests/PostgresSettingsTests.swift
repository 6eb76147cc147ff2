import Foundation
import OutpostTestSupport
import Testing

@testable import OutpostStore

@Suite("PostgreSQL URLs")
struct PostgresSettingsTests {
    @Test("a full URL gives host, port, user, password, database, sslmode and root certificate")
    func fullURL() throws {
        let settings = try PostgresSettings(
            url: "postgres://hub%40corp:p%40ss%2Fw0rd@db.internal:6432/outpost?sslmode=verify-full&sslrootcert=/etc/ca.pem&pool_size=25")
        #expect(settings.host == "db.internal")
        #expect(settings.port == 6432)
        #expect(settings.user == "hub@corp")
        #expect(settings.password == "p@ss/w0rd")
        #expect(settings.database == "outpost")
        #expect(settings.sslMode == .verifyFull)
        #expect(settings.sslRootCertificate == "/etc/ca.pem")
        #expect(settings.poolSize == 25)
        #expect(!settings.description.contains("p@ss"), "the description never shows the password")
        #expect(settings.description == "postgres://hub@corp@db.internal:6432/outpost?sslmode=verify-full&sslrootcert=/etc/ca.pem")
    }

    @Test("defaults: port 5432, sslmode prefer, pool of 10; postgresql:// is the same scheme")
    func defaults() throws {
        let settings = try PostgresSettings(url: "postgresql://outpost@127.0.0.1/outpost")
        #expect(settings.port == 5432)
        #expect(settings.sslMode == .prefer)
        #expect(settings.poolSize == 10)
        #expect(settings.password == nil)
    }

    @Test("the password comes from the URL, else PGPASSWORD, else the password file")
    func passwordSources() throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("pgpass")
        try "from-file\nsecond line ignored\n".write(toFile: file, atomically: true, encoding: .utf8)
        let url = "postgres://outpost@db/outpost"
        #expect(try PostgresSettings(url: "postgres://outpost:from-url@db/outpost", environment: ["PGPASSWORD": "env"], passwordFile: file).password == "from-url")
        #expect(try PostgresSettings(url: url, environment: ["PGPASSWORD": "from-env"], passwordFile: file).password == "from-env")
        #expect(try PostgresSettings(url: url, environment: [:], passwordFile: file).password == "from-file")
        let empty = directory.file("empty")
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        #expect(throws: PostgresSettings.Error("the database password file \(empty) is empty")) {
            try PostgresSettings(url: url, passwordFile: empty)
        }
        #expect(throws: PostgresSettings.Error.self) { try PostgresSettings(url: url, passwordFile: directory.file("missing")) }
    }

    @Test(
        "a wrong URL is an error naming what is wrong, never the password",
        arguments: [
            ("mysql://u:canary-pw@h/db", "is not a postgres:// URL"),
            ("postgres://u:canary-pw@/db", "names no host"),
            ("postgres://u:canary-pw@h", "names no database"),
            ("postgres://h/db", "names no user"),
            ("postgres://u:canary-pw@h/db?sslmode=sometimes", "sslmode \"sometimes\" is not one of disable, prefer, require, verify-ca, verify-full"),
            ("postgres://u:canary-pw@h/db?pool_size=0", "pool_size \"0\" is not a whole number from 1 to 1000"),
            ("postgres://u:canary-pw@h/db?sslmode=disable&sslrootcert=/ca.pem", "sslrootcert is given but sslmode=disable turns TLS off"),
            ("postgres://u:canary-pw@h/db?timeout=3", "unknown URL parameter \"timeout\""),
            ("postgres://u:canary-pw@h/db?schema=a;drop", "schema \"a;drop\" must be letters, digits and underscores"),
        ])
    func wrongURLs(url: String, expected: String) {
        do {
            _ = try PostgresSettings(url: url)
            Issue.record("\(PostgresSettings.redacted(url)) was accepted")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(!error.message.contains("canary-pw"), "\(PostgresSettings.redacted(error.message))")
        }
    }
}
