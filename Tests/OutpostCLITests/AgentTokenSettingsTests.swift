import Foundation
import OutpostCore
import Testing

@testable import OutpostCLI

/// Where the agent's registration token comes from: `token` (flag, environment, file)
/// or `token_file`, and what is said about a token other users can see.
@Suite("Agent registration token sources")
struct AgentTokenSettingsTests {
    /// A private directory with one token file of the given mode.
    struct TokenDirectory {
        let path = NSTemporaryDirectory() + "outpost-token-" + UUID().uuidString
        func write(_ text: String, mode: Int16 = 0o600) throws -> String {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let file = path + "/token"
            _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
            return file
        }
        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    static let hub = ["OUTPOST_AGENT_HUB": "https://hub.internal:8080"]

    @Test("--token-file reads the token without its trailing newline and warns about nothing when the file is 0600")
    func tokenFile() throws {
        let directory = TokenDirectory()
        defer { directory.remove() }
        let file = try directory.write("oprt_from_file\n")
        var flags = AgentSettings.Flags()
        flags.tokenFile = file
        let settings = try AgentSettings.resolve(flags: flags, file: nil, environment: Self.hub)
        #expect(settings.registrationToken == "oprt_from_file")
        #expect(!settings.tokenFromArguments)
        #expect(settings.warnings.isEmpty)

        let fromEnvironment = try AgentSettings.resolve(
            flags: .init(), file: nil, environment: Self.hub.merging(["OUTPOST_AGENT_TOKEN_FILE": file]) { $1 })
        #expect(fromEnvironment.registrationToken == "oprt_from_file")
        let yaml = try ConfigFile.parse("hub: https://h:1\ntoken_file: \(file)\n", path: "agent.yaml")
        #expect(try AgentSettings.resolve(flags: .init(), file: yaml, environment: [:]).registrationToken == "oprt_from_file")
    }

    @Test("a token file that group or others can read is used, with a warning naming the file and the fix")
    func looseTokenFile() throws {
        let directory = TokenDirectory()
        defer { directory.remove() }
        let file = try directory.write("oprt_loose", mode: 0o644)
        var flags = AgentSettings.Flags()
        flags.tokenFile = file
        let settings = try AgentSettings.resolve(flags: flags, file: nil, environment: Self.hub)
        #expect(settings.registrationToken == "oprt_loose")
        #expect(settings.warnings.count == 1)
        #expect(settings.warnings.first?.contains(file) == true)
        #expect(settings.warnings.first?.contains("mode 644") == true)
        #expect(settings.warnings.first?.contains("chmod 600") == true)
        #expect(settings.warnings.first?.contains("oprt_loose") == false)
    }

    @Test("a missing, empty or multi-line token file is an error naming the key, where it was set and the file")
    func badTokenFiles() throws {
        let directory = TokenDirectory()
        defer { directory.remove() }
        let empty = try directory.write("  \n")
        let cases: [(String, String)] = [
            (directory.path + "/missing", "flag --token-file: token_file: cannot read the token file \(directory.path)/missing: No such file or directory"),
            (empty, "flag --token-file: token_file: the token file \(empty) is empty"),
            (directory.path, "flag --token-file: token_file: the token file \(directory.path) is not a regular file"),
        ]
        for (path, expected) in cases {
            var flags = AgentSettings.Flags()
            flags.tokenFile = path
            #expect {
                try AgentSettings.resolve(flags: flags, file: nil, environment: Self.hub)
            } throws: { error in
                (error as? ConfigError)?.message == expected
            }
        }
        let twoLines = try directory.write("oprt_one\noprt_two\n")
        var flags = AgentSettings.Flags()
        flags.tokenFile = twoLines
        #expect {
            try AgentSettings.resolve(flags: flags, file: nil, environment: Self.hub)
        } throws: { error in
            guard let message = (error as? ConfigError)?.message else { return false }
            return message.contains("more than one line") && !message.contains("oprt_one")
        }
    }

    @Test("token and token_file together are refused, naming both places")
    func bothSources() throws {
        let directory = TokenDirectory()
        defer { directory.remove() }
        let file = try directory.write("oprt_file")
        var flags = AgentSettings.Flags()
        flags.tokenFile = file
        #expect {
            try AgentSettings.resolve(flags: flags, file: nil, environment: Self.hub.merging(["OUTPOST_AGENT_TOKEN": "t"]) { $1 })
        } throws: { error in
            guard let message = (error as? ConfigError)?.message else { return false }
            return message.contains("environment variable OUTPOST_AGENT_TOKEN") && message.contains("flag --token-file")
                && message.contains("not both")
        }
    }

    @Test("only a token given with --token is marked for scrubbing and the warning")
    func tokenFromArguments() throws {
        var flags = AgentSettings.Flags()
        flags.token = "oprt_argv"
        #expect(try AgentSettings.resolve(flags: flags, file: nil, environment: Self.hub).tokenFromArguments)
        let fromEnvironment = try AgentSettings.resolve(
            flags: .init(), file: nil, environment: Self.hub.merging(["OUTPOST_AGENT_TOKEN": "oprt_env"]) { $1 })
        #expect(!fromEnvironment.tokenFromArguments)
        #expect(fromEnvironment.registrationToken == "oprt_env")
    }
}
