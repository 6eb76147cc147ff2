import Foundation
import OutpostAgent
import OutpostCore
import OutpostTransport

/// The agent's settings after merging flags, `OUTPOST_AGENT_*` and the config file.
struct AgentSettings {
    /// URLs of the hub (`hub`; at least one): several are replicas of one hub, tried in order.
    var hubURLs: [String] = []
    /// The agent type's registration token (`token` or `token_file`; one is required).
    var registrationToken = ""
    /// How the hub's certificate is verified (`hub_ca`, `hub_cert_sha256`; default: the system trust store).
    var hubTrust = HubTrust.system
    /// Allow a plain `http://` hub that is not on loopback (`insecure_http`, default false).
    var insecureHTTP = false
    /// The token came from `--token`, where `ps` shows it: the command hides it from its
    /// argv and warns (default false).
    var tokenFromArguments = false
    /// Problems worth a warning at start, such as a token file other users can read (default none).
    var warnings: [String] = []
    /// Name to register under (`name`; default: a random readable name).
    var name: String?
    /// Routing tags (`tags`; default none: the agent runs untagged targets only).
    var tags = TagSet.empty
    /// Tasks run at once (`concurrency`, default 1).
    var concurrency = 1
    /// Where task directories and log spools live (`work_dir`). Default `nil`: one
    /// directory per agent under ./outpost-agent (`NAME`, or `unnamed/N` without a name).
    var workDirectory: String?
    /// Time between SIGTERM and SIGKILL when stopping a task (`kill_grace`, default 10s).
    var killGrace: Duration = .seconds(10)
    /// Cap on one task's log; the rest is dropped with one visible line (`max_log_bytes`, default 64MiB).
    var maxLogBytes: Int64 = 64 << 20
    /// Secret providers and masking (`secrets:`; see docs/secrets.md).
    var secrets = SecretsSettings()
    /// Ask the hub to end this agent after one task (`disconnect_after_job`, default false).
    var disconnectAfterJob = false
    /// Talk to the hub by long poll only, never over the persistent channel (`long_poll`, default false).
    var longPoll = false
    /// Ask the hub to end this agent after this long without a task (`disconnect_after_idle_timeout`).
    var idleTimeout: Duration?
    /// STS endpoint to sign the AWS identity for (`aws_sts_endpoint`); setting it sends the
    /// identity with the first registration. Default: the global endpoint, when the hub asks.
    var awsSTSEndpoint: String?
    /// Region to sign the AWS identity in (`aws_region`; default AWS_REGION, else us-east-1).
    var awsRegion: String?
    /// User-token enforcement (`jwk_url`, `jwt_issuer`, `jwt_audience`, `jwt_leeway`).
    var userTokens: UserTokenSettings?
    /// Signed tasks (`require_signed_tasks`: true, false or warn; default false).
    var signedTaskMode = SignedTaskMode.off
    /// The public keys trusted to sign tasks (`verification_keys`): a JWKS file or an
    /// http(s) URL of one. Default none.
    var verificationKeys: String?
    /// Run tasks as this user, name or uid (`run_as`; needs the agent to run as root).
    /// Default: tasks run as the agent's user.
    var runAs: String?
    /// Extra or replaced integrations (`integrations:`; see docs/integrations.md).
    var integrations: [Integration] = []

    struct UserTokenSettings {
        var jwkURL: String
        var issuer: String?
        var audience: String?
        var leeway: Duration = .seconds(30)
    }

    static let keys: Set<String> = [
        "hub", "token", "token_file", "name", "tags", "concurrency", "work_dir", "kill_grace", "max_log_bytes", "secrets",
        "disconnect_after_job", "disconnect_after_idle_timeout", "aws_sts_endpoint", "aws_region", "jwk_url",
        "jwt_issuer", "jwt_audience", "jwt_leeway", "integrations", "run_as", "hub_ca", "hub_cert_sha256", "insecure_http",
        "long_poll", "require_signed_tasks", "verification_keys",
    ]

    struct Flags {
        /// Every `--hub` given, in order.
        var hub: [String] = []
        var token: String?
        var tokenFile: String?
        var name: String?
        var tags: String?
        var concurrency: String?
        var workDir: String?
        var killGrace: String?
        var disconnectAfterJob = false
        var longPoll = false
        var idleTimeout: String?
        var awsSTSEndpoint: String?
        var jwkURL: String?
        var requireSignedTasks: String?
        var verificationKeys: String?
        var runAs: String?
        var hubCA: String?
        var hubCertSHA256: String?
        var insecureHTTP = false
    }

    static func resolve(
        flags: Flags, configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> AgentSettings {
        let file = try configFile.map { path throws(ConfigError) in try ConfigFile.load(path: path) }
        return try resolve(flags: flags, file: file, environment: environment)
    }

    static func resolve(flags: Flags, file: ConfigFile?, environment: [String: String]) throws(ConfigError) -> Self {
        let layers = try ConfigLayers(section: "agent", file: file, environment: environment, knownKeys: keys)
        var settings = AgentSettings()
        let hubOrigin: ConfigOrigin
        (settings.hubURLs, hubOrigin) = try resolveHubURLs(layers: layers, flags: flags)
        try resolveHubTrust(into: &settings, layers: layers, flags: flags, hubOrigin: hubOrigin)
        try resolveToken(into: &settings, layers: layers, flags: flags)
        try layers.check("name", flag: ("--name", flags.name)) { name throws(ValidationError) in
            try Names.validateAgentName(name)
        }
        settings.name = try layers.string("name", flag: ("--name", flags.name))
        if let tags = try layers.tags("tags", flag: ("--tags", flags.tags)) { settings.tags = tags }
        if let value = try layers.int("concurrency", flag: ("--concurrency", flags.concurrency), range: 1...1024) {
            settings.concurrency = value
        }
        if let dir = try layers.string("work_dir", flag: ("--work-dir", flags.workDir)) { settings.workDirectory = dir }
        if let value = try layers.duration("kill_grace", flag: ("--kill-grace", flags.killGrace), range: 0...3600) { settings.killGrace = value }
        if let value = try layers.bytes("max_log_bytes", range: 4096...(1 << 40)) { settings.maxLogBytes = value }
        settings.secrets = try SecretsSettings.resolve(file: file, environment: environment)
        settings.integrations = try IntegrationsSettings.resolve(file: file)
        settings.disconnectAfterJob =
            try layers.bool("disconnect_after_job", flag: ("--disconnect-after-job", flags.disconnectAfterJob)) ?? false
        settings.longPoll = try layers.bool("long_poll", flag: ("--long-poll", flags.longPoll)) ?? false
        settings.idleTimeout = try layers.duration(
            "disconnect_after_idle_timeout", flag: ("--disconnect-after-idle-timeout", flags.idleTimeout),
            range: 1...2_592_000)
        settings.awsSTSEndpoint = try layers.url("aws_sts_endpoint", flag: ("--aws-sts-endpoint", flags.awsSTSEndpoint))
        settings.awsRegion = try layers.string("aws_region")
        settings.runAs = try layers.string("run_as", flag: ("--run-as", flags.runAs))
        if let jwkURL = try layers.url("jwk_url", flag: ("--jwk-url", flags.jwkURL)) {
            var tokens = UserTokenSettings(jwkURL: jwkURL)
            tokens.issuer = try layers.string("jwt_issuer")
            tokens.audience = try layers.string("jwt_audience")
            if let leeway = try layers.duration("jwt_leeway", range: 0...300) { tokens.leeway = leeway }
            settings.userTokens = tokens
        } else {
            for key in ["jwt_issuer", "jwt_audience", "jwt_leeway"] {
                if let (_, origin) = try layers.raw(key) {
                    throw ConfigError(key: key, origin: origin, problem: "only applies with jwk_url (user-token enforcement)")
                }
            }
        }
        try resolveSignedTasks(into: &settings, layers: layers, flags: flags)
        return settings
    }

    /// `require_signed_tasks` and `verification_keys`: enforcing needs keys to enforce with.
    private static func resolveSignedTasks(into settings: inout AgentSettings, layers: ConfigLayers, flags: Flags)
        throws(ConfigError)
    {
        settings.verificationKeys = try layers.string(
            "verification_keys", flag: ("--verification-keys", flags.verificationKeys))
        if let location = settings.verificationKeys, location.lowercased().hasPrefix("http://"),
            let (_, origin) = try layers.raw("verification_keys", flag: ("--verification-keys", flags.verificationKeys))
        {
            // Whoever can change the keys in transit can sign tasks: plain HTTP only on this host.
            let host = URL(string: location)?.host ?? ""
            guard LoopbackHost.contains(host) else {
                throw ConfigError(
                    key: "verification_keys", origin: origin,
                    problem: "\(location) is plain http: anyone on the way could swap the keys; use https:// or a file")
            }
        }
        guard let (text, origin) = try layers.raw("require_signed_tasks", flag: ("--require-signed-tasks", flags.requireSignedTasks))
        else { return }
        guard let mode = SignedTaskMode(setting: text) else {
            throw ConfigError(
                key: "require_signed_tasks", origin: origin, problem: "must be true, false or warn, not \"\(text)\"")
        }
        if mode != .off, settings.verificationKeys == nil {
            throw ConfigError(
                key: "require_signed_tasks", origin: origin,
                problem: "needs verification_keys: the JWKS file or URL of the keys trusted to sign tasks")
        }
        settings.signedTaskMode = mode
    }

    /// `hub`: one URL, or several replicas of one hub as repeated `--hub` flags, a YAML
    /// list, or comma-separated text (`OUTPOST_AGENT_HUB=https://a,https://b`). Each must
    /// be http(s) and appear once.
    private static func resolveHubURLs(layers: ConfigLayers, flags: Flags) throws(ConfigError) -> (
        [String], ConfigOrigin
    ) {
        let flag = flags.hub.isEmpty ? nil : flags.hub.joined(separator: ",")
        guard let (text, origin) = try layers.raw("hub", flag: ("--hub", flag)) else {
            throw ConfigError(
                "hub: required; pass --hub URL (repeat it for each replica of the hub), set OUTPOST_AGENT_HUB, or put `hub:` in the config file"
            )
        }
        var urls: [String] = []
        var seen = Set<String>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let url = String(part).trimmingSpaces()
            guard !url.isEmpty else {
                throw ConfigError(key: "hub", origin: origin, problem: "an empty URL in \"\(text)\"")
            }
            let lower = url.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), URL(string: url)?.host?.isEmpty == false
            else {
                throw ConfigError(key: "hub", origin: origin, problem: "\"\(url)\" is not an http:// or https:// URL")
            }
            var comparable = lower
            while comparable.hasSuffix("/") { comparable.removeLast() }
            guard seen.insert(comparable).inserted else {
                throw ConfigError(
                    key: "hub", origin: origin, problem: "\"\(url)\" is listed twice; list each replica of the hub once")
            }
            urls.append(url)
        }
        return (urls, origin)
    }

    /// `hub_ca`, `hub_cert_sha256` and `insecure_http`; refuses a plain `http://` hub URL off
    /// this host unless `insecure_http` allows it, before any token is sent.
    private static func resolveHubTrust(
        into settings: inout AgentSettings, layers: ConfigLayers, flags: Flags, hubOrigin: ConfigOrigin
    ) throws(ConfigError) {
        var trust = HubTrust.system
        if let (path, origin) = try layers.raw("hub_ca", flag: ("--hub-ca", flags.hubCA)) {
            do {
                trust = try HubTrust(caFile: path, pinSHA256: nil)
            } catch {
                throw ConfigError(key: "hub_ca", origin: origin, problem: error.message)
            }
        }
        if let (text, origin) = try layers.raw("hub_cert_sha256", flag: ("--hub-cert-sha256", flags.hubCertSHA256)) {
            do {
                trust.pin = try CertificatePin(text)
            } catch {
                throw ConfigError(key: "hub_cert_sha256", origin: origin, problem: error.message)
            }
        }
        settings.hubTrust = trust
        settings.insecureHTTP = try layers.bool("insecure_http", flag: ("--insecure-http", flags.insecureHTTP)) ?? false
        guard !settings.insecureHTTP else { return }
        for url in settings.hubURLs where url.lowercased().hasPrefix("http://") {
            guard let host = URL(string: url)?.host, !LoopbackHost.contains(host) else { continue }
            throw ConfigError(
                key: "hub", origin: hubOrigin,
                problem:
                    "plain http:// to \(host) would send the agent's tokens across the network in clear text; use an https:// URL, or set insecure_http (--insecure-http) if this network is private and trusted"
            )
        }
    }

    /// The registration token from `token` or from the file `token_file` names (not both).
    private static func resolveToken(into settings: inout AgentSettings, layers: ConfigLayers, flags: Flags) throws(ConfigError) {
        let direct = try layers.raw("token", flag: ("--token", flags.token))
        let file = try layers.raw("token_file", flag: ("--token-file", flags.tokenFile))
        if let (_, tokenOrigin) = direct, let (_, fileOrigin) = file {
            throw ConfigError(
                "token: set either token (\(tokenOrigin.locationPrefix)...) or token_file (\(fileOrigin.locationPrefix)...), not both")
        }
        if let (path, origin) = file {
            let read = try TokenFile.read(path: path, key: "token_file", origin: origin)
            settings.registrationToken = read.token
            if let warning = read.warning { settings.warnings.append(warning) }
            return
        }
        guard let token = try layers.string("token", flag: ("--token", flags.token)), let (_, origin) = direct else {
            throw ConfigError(
                "token: required; pass --token-file PATH, set OUTPOST_AGENT_TOKEN, or put `token:` or `token_file:` in the config file (`outpost agent-type create NAME` prints one)"
            )
        }
        settings.registrationToken = token
        settings.tokenFromArguments = origin == .flag("--token")
    }
}
