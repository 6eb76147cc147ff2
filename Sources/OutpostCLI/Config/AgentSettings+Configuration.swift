import OutpostAgent
import OutpostMasking

extension AgentSettings {
    /// The daemon's configuration from these settings, short of what needs live clients
    /// (secret providers, the user-token verifier, the AWS identity signer).
    /// - Throws: `CLIExit.usage` (exit 2) when `run_as` names no user, root, or the agent is not root.
    func agentConfiguration() throws(CLIExit) -> AgentConfiguration {
        var configuration = AgentConfiguration(hubURLs: hubURLs, registrationToken: registrationToken)
        configuration.hubTrust = hubTrust
        configuration.insecureHTTP = insecureHTTP
        configuration.name = name
        configuration.tags = tags
        configuration.concurrency = concurrency
        if let workDirectory {
            configuration.workDirectory = workDirectory
        } else {
            // Unset: one directory per agent under the default, so agents can share a host.
            configuration.workDirectory = "./outpost-agent"
            configuration.workDirectoryPerAgent = true
        }
        configuration.killGrace = killGrace
        configuration.maxLogBytes = maxLogBytes
        configuration.masking.minimumLength = secrets.maskMinimumLength
        configuration.masking.sensitiveNameSuffixes = secrets.maskEnvironmentSuffixes
        configuration.integrations = IntegrationCatalog.builtIn.merging(integrations)
        configuration.disconnectAfterJob = disconnectAfterJob
        configuration.hubChannel = !longPoll
        // This process starts no children but tasks: it may reap their orphans.
        configuration.adoptsOrphans = true
        configuration.idleTimeout = idleTimeout
        configuration.signsAWSIdentityUpFront = awsSTSEndpoint != nil
        configuration.maskedValues = ProviderCredentials.values(of: secrets)
        if let runAs {
            do {
                configuration.runAs = try TaskIdentity.resolve(user: runAs)
            } catch {
                throw CLIExit.usage(error.message)
            }
        }
        return configuration
    }
}
