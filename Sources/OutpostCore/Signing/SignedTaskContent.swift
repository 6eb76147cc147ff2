/// What an agent runs that a task signature covers: everything that decides which
/// program runs, with which input, credentials and limits, where.
///
/// The signer builds it from the task it submits; the agent builds it again from the
/// assignment the hub handed over, and runs the task only when the two are equal. The
/// script is covered by its SHA-256 (the payload stays small; the hash is as binding).
package struct SignedTaskContent: Sendable, Equatable {
    /// The task id the client chose: a signature is good for this one task only.
    package var taskID: String
    package var target: String
    package var integration: String
    /// Lowercase hex SHA-256 of the script's UTF-8 bytes.
    package var scriptSHA256: String
    /// The target's literal environment variables, names and values.
    package var env: [String: String]
    /// Which secrets the agent fetches and into which variables (order kept: later
    /// references override earlier ones).
    package var secrets: [SecretReference]
    /// The target's routing tags, sorted.
    package var tags: [String]
    package var timeoutSeconds: Int

    package init(
        taskID: String, target: String, integration: String, scriptSHA256: String, env: [String: String],
        secrets: [SecretReference], tags: [String], timeoutSeconds: Int
    ) {
        self.taskID = taskID
        self.target = target
        self.integration = integration
        self.scriptSHA256 = scriptSHA256
        self.env = env
        self.secrets = secrets
        self.tags = tags.sorted()
        self.timeoutSeconds = timeoutSeconds
    }

    /// The content of task `taskID` of `target`, whose script hashes to `scriptSHA256`.
    package init(taskID: String, target: Target, scriptSHA256: String, timeoutSeconds: Int) {
        self.init(
            taskID: taskID, target: target.name, integration: target.integration, scriptSHA256: scriptSHA256,
            env: target.env, secrets: target.secrets, tags: target.tags.tags, timeoutSeconds: timeoutSeconds)
    }

    /// The content of what the hub handed over, as the agent would run it.
    package init(assignment: TaskAssignment, scriptSHA256: String) {
        self.init(
            taskID: assignment.taskID, target: assignment.target, scriptSHA256: scriptSHA256,
            timeoutSeconds: assignment.timeoutSeconds)
    }

    /// A part of the content, named as the payload names it.
    package enum Field: String, Sendable, CaseIterable {
        case taskID = "task_id"
        case target
        case integration
        case script = "script_sha256"
        case env
        case secrets
        case tags
        case timeout = "timeout_seconds"

        /// How a refusal names it: "the script", "the secret references"...
        package var phrase: String {
            switch self {
            case .taskID: "the task id"
            case .target: "the target"
            case .integration: "the integration"
            case .script: "the script"
            case .env: "the environment variables"
            case .secrets: "the secret references"
            case .tags: "the target's tags"
            case .timeout: "the timeout"
            }
        }
    }

    /// "a", "a and b", "a, b and c": how messages list changed parts.
    package static func list(_ parts: [String]) -> String {
        guard let last = parts.last else { return "nothing" }
        return parts.count == 1 ? last : parts.dropLast().joined(separator: ", ") + " and " + last
    }

    /// The fields in which `other` differs from `self`, in `Field` order.
    package func differences(from other: SignedTaskContent) -> [Field] {
        Field.allCases.filter { field in
            switch field {
            case .taskID: taskID != other.taskID
            case .target: target != other.target
            case .integration: integration != other.integration
            case .script: scriptSHA256 != other.scriptSHA256
            case .env: env != other.env
            case .secrets: secrets != other.secrets
            case .tags: tags != other.tags
            case .timeout: timeoutSeconds != other.timeoutSeconds
            }
        }
    }
}
