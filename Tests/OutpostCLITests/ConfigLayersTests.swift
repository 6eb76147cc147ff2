import OutpostCore
import Testing

@testable import OutpostCLI

@Suite("Configuration layers")
struct ConfigLayersTests {
    static let agentYAML = """
        hub: https://hub.internal:8080
        token: reg-token
        tags: [prod, eu]
        concurrency: 4
        kill_grace: 5s
        """

    @Test("a flag beats the environment, which beats the file, which beats the default")
    func precedence() throws {
        let file = try ConfigFile.parse(Self.agentYAML, path: "agent.yaml")
        let fromFile = try AgentSettings.resolve(flags: .init(), file: file, environment: [:])
        #expect(fromFile.concurrency == 4)
        #expect(fromFile.tags == TagSet(["eu", "prod"]))
        #expect(fromFile.killGrace == .seconds(5))

        let fromEnv = try AgentSettings.resolve(flags: .init(), file: file, environment: ["OUTPOST_AGENT_CONCURRENCY": "8"])
        #expect(fromEnv.concurrency == 8)

        var flags = AgentSettings.Flags()
        flags.concurrency = "2"
        let fromFlag = try AgentSettings.resolve(flags: flags, file: file, environment: ["OUTPOST_AGENT_CONCURRENCY": "8"])
        #expect(fromFlag.concurrency == 2)

        let defaults = try AgentSettings.resolve(
            flags: .init(), file: nil, environment: ["OUTPOST_AGENT_HUB": "https://h:1", "OUTPOST_AGENT_TOKEN": "t"])
        #expect(defaults.concurrency == 1)
        #expect(defaults.tags.isEmpty)
        #expect(defaults.name == nil)
    }

    @Test(
        "a bad value names the key and where it came from",
        arguments: [
            ("hub: https://h:1\ntoken: t\nconcurrency: lots\n", [String: String](), "agent.yaml:3: concurrency:"),
            ("hub: https://h:1\ntoken: t\nkill_grace: soon\n", [:], "agent.yaml:3: kill_grace:"),
            ("hub: https://h:1\ntoken: t\nconcurency: 2\n", [:], "agent.yaml:3: concurency: unknown key"),
            ("hub: https://h:1\ntoken: t\n", ["OUTPOST_AGENT_CONCURRENCY": "0"], "OUTPOST_AGENT_CONCURRENCY: concurrency:"),
            ("hub: ftp://h\ntoken: t\n", [:], "agent.yaml:1: hub:"),
            ("token: t\n", [:], "hub: required"),
            ("hub: https://h:1\n", [:], "token: required"),
            ("hub: https://h:1\ntoken: t\nname: tiny\n", [:], "agent.yaml:3: name: agent name \"tiny\" must be 8 to 80"),
            ("hub: https://h:1\ntoken: t\ntags: [ok, \"not ok\"]\n", [:], "agent.yaml:3: tags:"),
            ("hub: https://h:1\ntoken: t\nwork_dir:\n  nested: 1\n", [:], "agent.yaml:4: work_dir:"),
            ("hub: https://h:1\ntoken: t\ndisconnect_after_job: maybe\n", [:], "agent.yaml:3: disconnect_after_job:"),
            ("hub: https://h:1\ntoken: t\ndisconnect_after_idle_timeout: 0s\n", [:], "agent.yaml:3: disconnect_after_idle_timeout:"),
            ("hub: https://h:1\ntoken: t\njwk_url: keys.json\n", [:], "agent.yaml:3: jwk_url:"),
            ("hub: https://h:1\ntoken: t\njwt_audience: outpost\n", [:], "agent.yaml:3: jwt_audience: only applies with jwk_url"),
            ("hub: https://h:1\ntoken: t\n", ["OUTPOST_AGENT_AWS_STS_ENDPOINT": "sts"], "OUTPOST_AGENT_AWS_STS_ENDPOINT: aws_sts_endpoint:"),
        ])
    func errorsNameTheKey(_ yaml: String, _ environment: [String: String], _ expected: String) throws {
        let file = try ConfigFile.parse(yaml, path: "agent.yaml")
        #expect {
            _ = try AgentSettings.resolve(flags: .init(), file: file, environment: environment)
        } throws: { error in
            let message = (error as? ConfigError)?.message ?? ""
            return message.contains(expected)
        }
    }

    @Test("fleet and trust keys: lifecycle flags, AWS identity endpoint, user-token enforcement")
    func fleetKeys() throws {
        let file = try ConfigFile.parse(
            """
            hub: https://h:1
            token: t
            disconnect_after_job: yes
            disconnect_after_idle_timeout: 10m
            jwk_url: https://login.example.com/.well-known/jwks.json
            jwt_audience: outpost
            jwt_leeway: 10s
            """, path: "agent.yaml")
        let settings = try AgentSettings.resolve(
            flags: .init(), file: file,
            environment: ["OUTPOST_AGENT_AWS_STS_ENDPOINT": "https://sts.eu-west-1.amazonaws.com", "OUTPOST_AGENT_JWT_ISSUER": "https://login.example.com/"])
        #expect(settings.disconnectAfterJob)
        #expect(settings.idleTimeout == .seconds(600))
        #expect(settings.awsSTSEndpoint == "https://sts.eu-west-1.amazonaws.com")
        #expect(settings.userTokens?.jwkURL == "https://login.example.com/.well-known/jwks.json")
        #expect(settings.userTokens?.issuer == "https://login.example.com/")
        #expect(settings.userTokens?.audience == "outpost")
        #expect(settings.userTokens?.leeway == .seconds(10))

        var flags = AgentSettings.Flags()
        flags.disconnectAfterJob = true
        flags.jwkURL = "http://127.0.0.1:9/jwks"
        let fromFlags = try AgentSettings.resolve(
            flags: flags, file: nil, environment: ["OUTPOST_AGENT_HUB": "https://h:1", "OUTPOST_AGENT_TOKEN": "t"])
        #expect(fromFlags.disconnectAfterJob)
        #expect(fromFlags.userTokens?.leeway == .seconds(30))
        #expect(fromFlags.idleTimeout == nil)
    }

    @Test("YAML syntax errors and non-mapping documents name the line")
    func syntaxErrors() {
        #expect(throws: ConfigError.self) { try ConfigFile.parse("listen: [a\n", path: "s.yaml") }
        do {
            _ = try ConfigFile.parse("a: 1\nb: [x\nc: 3\n", path: "s.yaml")
            Issue.record("no error")
        } catch {
            #expect(error.message.hasPrefix("s.yaml:"))
        }
        do {
            _ = try ConfigFile.parse("- one\n- two\n", path: "s.yaml")
            Issue.record("no error")
        } catch {
            #expect(error.message.contains("s.yaml:1: the configuration must be a mapping"))
        }
    }

    @Test("server settings read listen, durations and sizes")
    func serverSettings() throws {
        let file = try ConfigFile.parse(
            "listen: 0.0.0.0:9090\ndata_dir: /var/lib/outpost\nheartbeat_timeout: 2m\nmax_log_bytes: 16MiB\ninsecure_http: yes\n",
            path: "server.yaml")
        let settings = try ServerSettings.resolve(flags: .init(), file: file, environment: ["OUTPOST_SERVER_POLL_TIMEOUT": "10s"])
        #expect(settings.host == "0.0.0.0")
        #expect(settings.port == 9090)
        #expect(settings.dataDirectory == "/var/lib/outpost")
        #expect(settings.heartbeatTimeout == .seconds(120))
        #expect(settings.pollTimeout == .seconds(10))
        #expect(settings.maxLogBytes == 16 << 20)
        #expect(settings.insecureHTTP)
        #expect(throws: ConfigError.self) {
            try ServerSettings.resolve(flags: .init(listen: "nonsense"), file: nil, environment: [:])
        }
    }

    @Test("plain HTTP is refused on a non-loopback address unless insecure_http; tls_cert needs tls_key; the key is named")
    func serverPlainHTTPRules() throws {
        for host in ["127.0.0.1", "127.3.4.5", "localhost", "[::1]"] {
            #expect(throws: Never.self) {
                try ServerSettings.resolve(flags: .init(listen: "\(host):8080"), file: nil, environment: [:])
            }
        }
        for host in ["0.0.0.0", "10.1.2.3", "[::]", "hub.internal"] {
            let error = #expect(throws: ConfigError.self) {
                try ServerSettings.resolve(flags: .init(listen: "\(host):8080"), file: nil, environment: [:])
            }
            #expect(error?.message.contains("--insecure-http") == true, "\(host)")
            #expect(error?.message.contains("flag --listen") == true, "\(host): names where the address came from")
        }
        let allowed = try ServerSettings.resolve(
            flags: .init(listen: "0.0.0.0:8080"), file: nil, environment: ["OUTPOST_SERVER_INSECURE_HTTP": "1"])
        #expect(allowed.insecureHTTP)
        let half = #expect(throws: ConfigError.self) {
            try ServerSettings.resolve(flags: .init(tlsCert: "/etc/outpost/hub.crt"), file: nil, environment: [:])
        }
        #expect(half?.message.contains("give both") == true)
    }
}
