import Foundation
import OutpostCore
import OutpostHub
import OutpostTestSupport
import Testing

@testable import OutpostCLI

@Suite("Server settings: listener limits and the metrics token")
struct ServerListenerSettingsTests {
    static let token = "metrics-canary-51c0ffee9d2e4a77"

    @Test("listener keys come from the file and the environment, with documented defaults")
    func listenerKeys() throws {
        let defaults = try ServerSettings.resolve(flags: .init(), file: nil, environment: [:])
        #expect(defaults.headerReadTimeout == .seconds(10))
        #expect(defaults.idleTimeout == .seconds(75))
        #expect(defaults.maxConnections == 32_768)
        #expect(defaults.maxConnectionsPerPeer == 8_192)
        #expect(defaults.offlineAgentRetention == .seconds(86_400))
        #expect(defaults.consoleSessionLifetime == .seconds(43_200))
        #expect(defaults.metricsToken == nil)

        let file = try ConfigFile.parse(
            "header_read_timeout: 5s\nidle_timeout: 2m\nmax_connections: 1000\noffline_agent_retention: 2h\n"
                + "console_session_lifetime: 30m\n",
            path: "server.yaml")
        let settings = try ServerSettings.resolve(
            flags: .init(), file: file, environment: ["OUTPOST_SERVER_MAX_CONNECTIONS_PER_PEER": "0"])
        #expect(settings.headerReadTimeout == .seconds(5))
        #expect(settings.idleTimeout == .seconds(120))
        #expect(settings.maxConnections == 1000)
        #expect(settings.maxConnectionsPerPeer == 0)
        #expect(settings.offlineAgentRetention == .seconds(7200))
        #expect(settings.consoleSessionLifetime == .seconds(1800))
    }

    @Test(
        "a bad listener value is refused naming the key and the file line",
        arguments: [
            ("header_read_timeout: 0s\n", "server.yaml:1: header_read_timeout"),
            ("idle_timeout: 5s\n", "server.yaml:1: idle_timeout"),
            ("max_connections: 3\n", "server.yaml:1: max_connections"),
            ("offline_agent_retention: 1s\n", "server.yaml:1: offline_agent_retention"),
            ("console_session_lifetime: 40d\n", "server.yaml:1: console_session_lifetime"),
        ])
    func badValues(yaml: String, prefix: String) throws {
        let file = try ConfigFile.parse(yaml, path: "server.yaml")
        do {
            _ = try ServerSettings.resolve(flags: .init(), file: file, environment: [:])
            Issue.record("\(yaml) was accepted")
        } catch {
            #expect(error.message.hasPrefix(prefix), "\(error.message)")
        }
    }

    @Test("the metrics token is read from its file; a missing or empty file is named, the token never shown")
    func metricsTokenFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/metrics-token"
        try (Self.token + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let settings = try ServerSettings.resolve(
            flags: .init(metricsTokenFile: path), file: nil, environment: [:])
        #expect(settings.metricsToken == (try MetricsToken(Self.token)))
        expectAbsent(Self.token, in: "\(settings)", "the settings' description")
        expectAbsent(Self.token, in: String(reflecting: settings), "the settings' debug description")

        let fromEnvironment = try ServerSettings.resolve(
            flags: .init(), file: nil, environment: ["OUTPOST_SERVER_METRICS_TOKEN_FILE": path])
        #expect(fromEnvironment.metricsToken == settings.metricsToken)

        do {
            _ = try ServerSettings.resolve(
                flags: .init(metricsTokenFile: directory.path + "/absent"), file: nil, environment: [:])
            Issue.record("a missing token file was accepted")
        } catch {
            #expect(error.message.hasPrefix("flag --metrics-token-file: metrics_token_file: cannot read"))
        }
        try "\n".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try ServerSettings.resolve(flags: .init(metricsTokenFile: path), file: nil, environment: [:])
            Issue.record("an empty token file was accepted")
        } catch {
            #expect(error.message.contains("empty"))
        }
    }
}
