import OutpostCore

/// The hub's checks of what clients send, beyond JSON shape. Each throws a
/// `ValidationError` naming the field; the error middleware makes it a 400.
enum InputValidation {
    /// Longest timeout a task or target may ask for: one week.
    static let timeoutRange = 1...604_800

    static func validate(target: Target) throws(ValidationError) {
        try Names.validateResourceName(target.name, kind: "target")
        guard !target.integration.isEmpty, target.integration.utf8.count <= 64,
            !target.integration.contains(where: { $0.isWhitespace })
        else {
            throw ValidationError(
                field: "integration", message: "integration must be a non-empty name such as bash, sh, python or node")
        }
        for tag in target.tags.tags { try Names.validateTag(tag) }
        guard target.env.count <= 1000 else {
            throw ValidationError(field: "env", message: "a target may set at most 1000 environment variables")
        }
        for (name, value) in target.env {
            try Names.validateEnvironmentName(name)
            guard value.utf8.count <= 64 * 1024 else {
                throw ValidationError(field: "env", message: "environment variable \(name) is longer than 64 KiB")
            }
        }
        for (index, secret) in target.secrets.enumerated() {
            guard !secret.provider.isEmpty, !secret.path.isEmpty else {
                throw ValidationError(
                    field: "secrets", message: "secret reference #\(index + 1) needs a provider and a path")
            }
            for name in secret.mapping.keys { try Names.validateEnvironmentName(name) }
        }
        if let timeout = target.timeoutSeconds { try validate(timeoutSeconds: timeout) }
    }

    static func validate(timeoutSeconds: Int) throws(ValidationError) {
        guard timeoutRange.contains(timeoutSeconds) else {
            throw ValidationError(
                field: "timeout_seconds",
                message: "timeout_seconds must be from 1 to 604800 (one week); got \(timeoutSeconds)")
        }
    }

    static func validate(task: CreateTaskRequest, maxScriptBytes: Int) throws(ValidationError) {
        try Names.validateResourceName(task.target, kind: "target")
        guard !task.script.isEmpty else {
            throw ValidationError(field: "script", message: "script must not be empty")
        }
        guard task.script.utf8.count <= maxScriptBytes else {
            throw ValidationError(
                field: "script",
                message: "script is \(task.script.utf8.count) bytes; the hub accepts at most \(maxScriptBytes)")
        }
        if let timeout = task.timeoutSeconds { try validate(timeoutSeconds: timeout) }
    }

    static func validate(register request: RegisterRequest) throws(ValidationError) {
        guard request.protocolVersion == AgentProtocol.version else {
            throw ValidationError(
                field: "protocol_version",
                message:
                    "the agent speaks protocol version \(request.protocolVersion); this hub speaks \(AgentProtocol.version): run agent and hub of the same release"
            )
        }
        if let name = request.name { try Names.validateAgentName(name) }
        for tag in request.tags.tags { try Names.validateTag(tag) }
        guard (1...1024).contains(request.concurrency) else {
            throw ValidationError(field: "concurrency", message: "concurrency must be from 1 to 1024")
        }
        for (field, value) in [
            ("version", request.version), ("os", request.os), ("provider_fingerprint", request.providerFingerprint),
        ] where value.utf8.count > 256 {
            throw ValidationError(field: field, message: "\(field) must be at most 256 characters")
        }
    }

    static func validate(poll request: PollRequest) throws(ValidationError) {
        guard (0...1024).contains(request.freeSlots) else {
            throw ValidationError(field: "free_slots", message: "free_slots must be from 0 to 1024")
        }
        guard request.running.count <= 10_000 else {
            throw ValidationError(field: "running", message: "running lists more than 10000 tasks")
        }
    }

    static func validate(finish request: FinishRequest) throws(ValidationError) {
        guard request.status.isAgentReportable else {
            throw ValidationError(
                field: "status",
                message:
                    "an agent may finish a task as succeeded, failed, cancelled, timed_out or rejected, not \(request.status.rawValue)"
            )
        }
        guard request.logBytes >= 0 else {
            throw ValidationError(field: "log_bytes", message: "log_bytes must not be negative")
        }
        if let error = request.error, error.utf8.count > 64 * 1024 {
            throw ValidationError(field: "error", message: "error must be at most 64 KiB")
        }
    }
}
