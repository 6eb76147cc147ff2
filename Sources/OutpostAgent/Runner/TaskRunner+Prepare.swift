import Foundation
import Logging
import OutpostCore
import OutpostMasking
import OutpostSecrets

/// A task ready to launch: its directory, its log writer and the launch request.
struct PreparedTask: Sendable {
    var workspace: TaskWorkspace
    var writer: TaskLogWriter
    var launch: LaunchRequest
}

extension TaskRunner {
    /// Resolves the integration, its program and the secrets, then creates the
    /// working directory, the script and the spool.
    /// - Throws: `AgentError` whose message becomes the task's rejection reason.
    func prepare() async throws(AgentError) -> PreparedTask {
        try await checkSignature()
        try await checkUserToken()
        let target = assignment.target
        guard let integration = context.integrations.integration(named: target.integration) else {
            throw AgentError(
                .integrationUnavailable,
                "unknown integration \"\(target.integration)\"; this agent knows \(context.integrations.names.joined(separator: ", "))")
        }
        let resolved: ResolvedSecrets
        do {
            resolved = try await context.secrets.resolve(target.secrets)
        } catch {
            throw AgentError(.integrationUnavailable, error.message, underlying: error)
        }

        func environment(temporaryDirectory: String, integration extras: [String: String]) -> [String: String] {
            TaskWorkspace.environment(
                taskID: taskID, temporaryDirectory: temporaryDirectory, inherited: context.inheritedEnvironment,
                integration: extras, target: target.env, secrets: resolved.environment)
        }
        // The program is looked up on the PATH the task will have.
        let path = environment(temporaryDirectory: "", integration: [:])["PATH"] ?? TaskWorkspace.defaultPath
        for tool in integration.tools where ExecutableLookup.find(tool, path: path) == nil {
            throw AgentError(
                .integrationUnavailable, "integration \(integration.name) needs `\(tool)` on the agent's PATH")
        }
        guard let executable = ExecutableLookup.find(integration.program, path: path) else {
            throw AgentError(
                .integrationUnavailable,
                "integration \(integration.name) needs `\(integration.program)` on the agent's PATH")
        }

        let workspace = try TaskWorkspace.create(
            root: context.paths.tasks, taskID: taskID, scriptFileName: integration.scriptFileName,
            script: assignment.script)
        let invocation: IntegrationInvocation
        let spool: LogSpool
        do {
            invocation = try Self.invoke(
                integration, in: workspace,
                environment: environment(temporaryDirectory: workspace.temporaryDirectory, integration: [:]),
                secretVariables: Set(resolved.environment.keys))
            if let identity = context.runAs { try workspace.handOver(to: identity) }
            spool = try LogSpool(path: "\(context.paths.spool)/\(taskID).log", clock: context.clock)
        } catch {
            workspace.remove()
            throw error
        }
        let derived = invocation.derivedSecrets.map { (name: "integration \(integration.name)", value: $0) }
        let (masker, warnings) = context.maskingPolicy.masker(
            for: context.maskedValues(sessionToken: context.credentials.current) + resolved.valuesToMask.map { (name: $0.name, value: $0.value) } + derived)
        for warning in warnings { logger.warning("\(warning)", metadata: ["task": "\(taskID)"]) }
        let writer = TaskLogWriter(
            spool: spool, masker: masker, maxLogBytes: context.maxLogBytes, output: integration.output, logger: logger)
        let launch = LaunchRequest(
            executable: executable,
            arguments: invocation.arguments,
            environment: environment(
                temporaryDirectory: workspace.temporaryDirectory, integration: invocation.environment),
            workingDirectory: workspace.directory,
            standardInput: integration.scriptDelivery == .standardInput ? workspace.scriptPath : nil,
            identity: context.runAs)
        return PreparedTask(workspace: workspace, writer: writer, launch: launch)
    }

    /// The integration's arguments, variables and files for this task; the files are
    /// written 0600 under the task directory (deleted with it).
    private static func invoke(
        _ integration: Integration, in workspace: TaskWorkspace, environment: [String: String],
        secretVariables: Set<String>
    ) throws(AgentError) -> IntegrationInvocation {
        let invocation: IntegrationInvocation
        do {
            invocation = try integration.invocation(
                scriptPath: workspace.scriptPath, fileDirectory: workspace.filesDirectory, environment: environment,
                secretVariables: secretVariables)
        } catch {
            throw AgentError(.integrationUnavailable, error.message)
        }
        for file in invocation.files {
            try workspace.writePrivateFile(at: file.path, Array(file.content.utf8))
        }
        return invocation
    }

    /// With signed tasks enforced, what runs must be exactly what its submitter signed,
    /// checked before anything else (no secret is fetched for a refused task).
    private func checkSignature() async throws(AgentError) {
        guard let gate = context.signatures else { return }
        switch await gate.check(assignment, now: Date()) {
        case .notChecked:
            break
        case .verified(let kid):
            state.update { $0.submitter.signedBy = kid }
            logger.info("task signature verified", metadata: ["kid": "\(kid)"])
        case .warned(let reason):
            logger.warning("running a task whose signature does not check out (require_signed_tasks: warn): \(reason)")
            // Reported with the task, so the hub shows what `require` would refuse.
            state.update { $0.submitter.signatureWarning = String(reason.prefix(1000)) }
        case .rejected(let reason):
            throw AgentError(.signatureRejected, "signed task refused: \(reason)")
        }
    }

    /// With user-token enforcement, the task's user token must verify before anything
    /// else happens (no secret is fetched for a refused task).
    private func checkUserToken() async throws(AgentError) {
        guard let checker = context.userTokens else { return }
        switch await checker.decide(assignment.userToken, now: Date()) {
        case .accepted(let subject):
            state.update { $0.submitter.userSubject = subject }
            logger.info("user token verified", metadata: ["subject": "\(subject)"])
        case .rejected(let reason):
            throw AgentError(.userTokenRejected, "user token refused: \(reason)")
        }
    }
}
