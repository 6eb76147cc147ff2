import Foundation
package import OutpostCore
package import OutpostMasking
package import OutpostSecrets
package import OutpostTransport

/// Everything `outpost agent start` needs, validated. The CLI builds it from
/// flags, the YAML file and `OUTPOST_AGENT_*` variables.
package struct AgentConfiguration: Sendable {
    /// Base URLs of the hub, e.g. `https://hub-1.internal:8443`: one, or several replicas
    /// of one hub sharing its database, tried in order when the one in use is gone.
    /// At least one is required.
    package var hubURLs: [String]
    /// The agent type's registration token; sent only to `register`, never logged. Required.
    package var registrationToken: String
    /// How the hub's TLS certificate is verified (`hub_ca`, `hub_cert_sha256`). Default: the system trust store.
    package var hubTrust: HubTrust = .system
    /// Allow plain `http://` to a hub that is not on loopback, tokens in clear text (`insecure_http`). Default `false`.
    package var insecureHTTP = false
    /// Requested agent name (8–80 of `[A-Za-z0-9._-]`); `nil` picks a random readable one. Default `nil`.
    package var name: String?
    /// Routing tags the agent carries. Default: none (runs only untagged targets).
    package var tags: TagSet
    /// How many tasks run at once. Default 1.
    package var concurrency: Int
    /// Holds task directories, log spools and process records. Default `./outpost-agent`.
    package var workDirectory: String
    /// `workDirectory` is a parent shared by the host's agents: this one works in
    /// `workDirectory/NAME`, or without a configured name in the first free
    /// `workDirectory/unnamed/N`. `outpost agent start` sets it when `work_dir` is not
    /// configured. Default `false`: `workDirectory` itself.
    package var workDirectoryPerAgent = false
    /// Time between SIGTERM and SIGKILL to a task's process group on cancel or timeout. Default 10 s.
    package var killGrace: Duration
    /// How long to keep reading output after the main process exited before SIGKILLing the group. Default 2 s.
    package var drainTimeout: Duration
    /// Send a log chunk once this many bytes are pending (also the largest chunk). Default 64 KiB.
    package var logFlushBytes: Int
    /// Send pending log bytes at the latest this long after the first unsent byte. Default 200 ms.
    package var logFlushInterval: Duration
    /// Per-task log cap; later output is dropped after one visible truncation line. Default 64 MiB.
    package var maxLogBytes: Int64
    /// First delay before retrying a failed hub call; doubles up to `retryMaxDelay`, with jitter. Default 200 ms.
    package var retryInitialDelay: Duration
    /// Longest delay between retries of a failed hub call. Default 10 s.
    package var retryMaxDelay: Duration
    /// After a second stop signal, how long to try reporting torn-down tasks before giving up. Default 5 s.
    package var stopReportTimeout: Duration
    /// The integrations this agent can run, by name. Default: `IntegrationCatalog.builtIn` (`BuiltInIntegrations.all`; `outpost integrations` lists them).
    package var integrations: IntegrationCatalog
    /// Resolves targets' secret references. Default: `NoSecretProviders()`.
    package var secrets: any SecretResolver
    /// How secrets are masked in logs: minimum length, encodings, the agent's own
    /// variables to mask (names ending in TOKEN, KEY, SECRET, PASSWORD). Default: `MaskingPolicy.Configuration()`.
    package var masking: MaskingPolicy.Configuration = MaskingPolicy.Configuration()
    /// Ask the hub to tell this agent to disconnect once it finished one task (ephemeral agents). Default `false`.
    package var disconnectAfterJob = false
    /// Talk to the hub over one persistent channel (a WebSocket), falling back to the long
    /// poll where it is refused; `false` uses the long poll only (`long_poll`). Default `true`.
    package var hubChannel = true
    /// Become the child subreaper of the agent's process (`OrphanAdoption`), so the sweep
    /// after a task reads only the agent's own process tree. Only for a process whose
    /// every child is a task (`outpost agent start`, `outpost dev`). Default `false`.
    package var adoptsOrphans = false
    /// Ask the hub to tell this agent to disconnect after this long without a task (autoscaling). Default `nil`.
    package var idleTimeout: Duration?
    /// User-token enforcement (`jwk_url`): when set, a task runs only if its user token
    /// passes this check. Default `nil` (tasks need no user token).
    package var userTokens: (any UserTokenChecking)?
    /// Signed tasks (`require_signed_tasks`, `verification_keys`): whether a task must
    /// carry its submitter's signature, and the keys trusted to make it. Default: off.
    package var signedTasks = SignedTaskSettings()
    /// Signs an STS `GetCallerIdentity` request with the agent's AWS credentials, for
    /// agent types with the `aws-sts` name policy. Called when registering, only if the
    /// hub asks for it (or `signsAWSIdentityUpFront`). Default `nil`: cannot.
    package var awsIdentitySigner: (@Sendable () async throws -> SignedHTTPRequest)?
    /// Send the signed identity with the first registration (`aws_sts_endpoint` was configured).
    package var signsAWSIdentityUpFront = false
    /// Other values this process holds that no task may print, masked in every task's
    /// log (`outpost dev` puts the hub's admin token here). The registration token, the
    /// session token and the providers' held values are always masked. Default none.
    package var maskedValues: [NamedSecretValue] = []
    /// Run every task as this user (`run_as`), resolved at start; the agent must be root.
    /// Each task's directory and files then belong to that user; the rest of the work
    /// directory stays the agent's. Default `nil`: tasks run as the agent's user.
    package var runAs: TaskIdentity?

    package init(
        hubURLs: [String],
        registrationToken: String,
        name: String? = nil,
        tags: TagSet = .empty,
        concurrency: Int = 1,
        workDirectory: String = "./outpost-agent",
        killGrace: Duration = .seconds(10),
        drainTimeout: Duration = .seconds(2),
        logFlushBytes: Int = 64 << 10,
        logFlushInterval: Duration = .milliseconds(200),
        maxLogBytes: Int64 = 64 << 20,
        retryInitialDelay: Duration = .milliseconds(200),
        retryMaxDelay: Duration = .seconds(10),
        stopReportTimeout: Duration = .seconds(5),
        integrations: IntegrationCatalog = .builtIn,
        secrets: any SecretResolver = NoSecretProviders()
    ) {
        self.hubURLs = hubURLs
        self.registrationToken = registrationToken
        self.name = name
        self.tags = tags
        self.concurrency = concurrency
        self.workDirectory = workDirectory
        self.killGrace = killGrace
        self.drainTimeout = drainTimeout
        self.logFlushBytes = logFlushBytes
        self.logFlushInterval = logFlushInterval
        self.maxLogBytes = maxLogBytes
        self.retryInitialDelay = retryInitialDelay
        self.retryMaxDelay = retryMaxDelay
        self.stopReportTimeout = stopReportTimeout
        self.integrations = integrations
        self.secrets = secrets
    }

    /// Checks every field; the CLI calls this to fail fast (exit 2) before any network call.
    /// - Throws: `AgentError` with code `.invalidConfiguration` whose message names the field.
    package func validate() throws(AgentError) {
        func invalid(_ field: String, _ message: String) -> AgentError {
            AgentError(.invalidConfiguration, "agent \(field): \(message)")
        }
        try validateHubURLs()
        guard !registrationToken.isEmpty else {
            throw invalid("token", "a registration token is required (create one with `outpost agent-type create NAME`)")
        }
        if let name {
            do { try Names.validateAgentName(name) } catch { throw invalid("name", error.message) }
        }
        for tag in tags.tags {
            do { try Names.validateTag(tag) } catch { throw invalid("tags", error.message) }
        }
        guard (1...256).contains(concurrency) else { throw invalid("concurrency", "must be 1 to 256 (got \(concurrency))") }
        guard !workDirectory.isEmpty else { throw invalid("work_dir", "must not be empty") }
        guard killGrace >= .zero else { throw invalid("kill_grace", "must not be negative") }
        guard drainTimeout >= .zero else { throw invalid("drain_timeout", "must not be negative") }
        guard logFlushBytes >= 1 else { throw invalid("log_flush_bytes", "must be at least 1") }
        guard logFlushInterval >= .zero else { throw invalid("log_flush_interval", "must not be negative") }
        guard maxLogBytes >= 1024 else { throw invalid("max_log_bytes", "must be at least 1024 bytes") }
        guard retryInitialDelay > .zero, retryMaxDelay >= retryInitialDelay else {
            throw invalid("retry_max_delay", "retry delays must be positive and the maximum at least the initial delay")
        }
    }

    /// Each hub URL is http(s) with a host, plain http only on loopback unless
    /// `insecureHTTP`, and none is listed twice (a replica tried twice hides that
    /// another one is missing).
    private func validateHubURLs() throws(AgentError) {
        func invalid(_ message: String) -> AgentError {
            AgentError(.invalidConfiguration, "agent hub: \(message)")
        }
        guard !hubURLs.isEmpty else { throw invalid("at least one hub URL is required") }
        var seen = Set<String>()
        for url in hubURLs {
            let lower = url.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), let host = URLComponents(string: url)?.host,
                !host.isEmpty
            else {
                throw invalid("\"\(url)\" is not an http:// or https:// URL")
            }
            if lower.hasPrefix("http://"), !insecureHTTP, !LoopbackHost.contains(host) {
                throw invalid(
                    "plain http:// to \(host) would send the agent's tokens across the network in clear text; use an https:// URL, or set insecure_http if this network is private and trusted"
                )
            }
            var comparable = lower
            while comparable.hasSuffix("/") { comparable.removeLast() }
            guard seen.insert(comparable).inserted else {
                throw invalid("\"\(url)\" is listed twice; list each replica of the hub once")
            }
        }
    }
}

/// The token never appears when the configuration is printed or logged (swift-service-lifecycle
/// logs its services at debug level; tests print their arguments).
extension AgentConfiguration: CustomStringConvertible, CustomReflectable {
    package var description: String {
        "AgentConfiguration(hubURLs: \(hubURLs), registrationToken: <redacted>, name: \(name ?? "<random>"), "
            + "tags: [\(tags)], concurrency: \(concurrency), workDirectory: \(workDirectory))"
    }

    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "hubURLs": hubURLs, "registrationToken": "<redacted>", "name": name as Any, "tags": tags,
                "concurrency": concurrency, "workDirectory": workDirectory, "runAs": runAs as Any, "killGrace": killGrace,
                "drainTimeout": drainTimeout, "logFlushBytes": logFlushBytes, "logFlushInterval": logFlushInterval,
                "maxLogBytes": maxLogBytes, "retryInitialDelay": retryInitialDelay, "retryMaxDelay": retryMaxDelay,
                "stopReportTimeout": stopReportTimeout, "integrations": integrations.names, "hubTrust": hubTrust,
                "insecureHTTP": insecureHTTP,
            ],
            displayStyle: .struct)
    }
}

/// An agent's signed-task settings; the daemon turns them into a `TaskSignatureGate`
/// once its work directory (which holds the replay journal) is claimed.
package struct SignedTaskSettings: Sendable {
    /// `require_signed_tasks`: `off` (default), `warn` or `require`. The agent type's
    /// hint from the hub can make it stricter, never laxer.
    package var mode: SignedTaskMode
    /// `verification_keys`: the trusted public keys (a JWKS file or URL); `nil`: none.
    package var keys: (any VerificationKeySource)?
    /// Clock difference tolerated on a signature's validity window. Default 30 s.
    package var leeway: Duration

    package init(mode: SignedTaskMode = .off, keys: (any VerificationKeySource)? = nil, leeway: Duration = .seconds(30)) {
        self.mode = mode
        self.keys = keys
        self.leeway = leeway
    }
}
