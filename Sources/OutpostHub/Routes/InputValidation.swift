import Foundation
package import OutpostCore

/// The hub's checks of what clients send, beyond JSON shape. Each throws a
/// `ValidationError` naming the field; the error middleware makes it a 400.
/// Pure and `package`, so a fuzzing harness can run bytes through
/// `WireJSON.decodeRequest` and then these, as a route does.
package enum InputValidation {
    /// Longest timeout a task or target may ask for: one week.
    package static let timeoutRange = 1...TaskAssignment.maxTimeoutSeconds

    package static func validate(target: Target) throws(ValidationError) {
        try Names.validateResourceName(target.name, kind: "target")
        guard !target.integration.isEmpty, target.integration.utf8.count <= 64,
            !target.integration.contains(where: { $0.isWhitespace })
        else {
            throw ValidationError(
                field: "integration", message: "integration must be a non-empty name such as bash, sh, python or node")
        }
        try Names.validateTags(target.tags)
        guard target.env.count <= 1000 else {
            throw ValidationError(field: "env", message: "a target may set at most 1000 environment variables")
        }
        for (name, value) in target.env {
            try Names.validateEnvironmentName(name)
            guard value.utf8.count <= 64 * 1024 else {
                throw ValidationError(field: "env", message: "environment variable \(name) is longer than 64 KiB")
            }
        }
        guard target.secrets.count <= Names.maxSecretReferences else {
            throw ValidationError(
                field: "secrets", message: "a target may reference at most \(Names.maxSecretReferences) secrets")
        }
        for (index, secret) in target.secrets.enumerated() {
            guard !secret.provider.isEmpty, !secret.path.isEmpty else {
                throw ValidationError(
                    field: "secrets", message: "secret reference #\(index + 1) needs a provider and a path")
            }
            try Names.validateSecretReference(secret, index: index)
        }
        if let timeout = target.timeoutSeconds { try validate(timeoutSeconds: timeout) }
    }

    package static func validate(timeoutSeconds: Int) throws(ValidationError) {
        guard timeoutRange.contains(timeoutSeconds) else {
            throw ValidationError(
                field: "timeout_seconds",
                message: "timeout_seconds must be from 1 to 604800 (one week); got \(timeoutSeconds)")
        }
    }

    package static func validate(task: CreateTaskRequest, maxScriptBytes: Int) throws(ValidationError) {
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
        if let id = task.id { try validate(taskID: id) }
        if let signature = task.signature { try validate(signature: signature, of: task) }
    }

    /// A client-chosen task id: `tsk_` and 16 to 64 characters of `[0-9a-z]` (what the
    /// hub's own ids look like; agents use the id as a file name).
    package static func validate(taskID id: String) throws(ValidationError) {
        let body = id.utf8.dropFirst(4)
        guard id.hasPrefix("tsk_"), (16...64).contains(body.count),
            body.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) })
        else {
            throw ValidationError(
                field: "id", message: "id must be \"tsk_\" followed by 16 to 64 lowercase letters or digits")
        }
    }

    /// The hub cannot verify a signature (it holds no keys agents trust), and does not
    /// try; it checks only what lets an honest client hear of a mistake now rather than
    /// from an agent's refusal: the envelope's shape, and that it names this task.
    static func validate(signature: SignedTaskEnvelope, of task: CreateTaskRequest) throws(ValidationError) {
        guard let id = task.id else {
            throw ValidationError(
                field: "id", message: "a signed task must carry the id it was signed for (the id field)")
        }
        guard signature.payloadType == SignedTaskPayload.payloadType else {
            throw ValidationError(
                field: "signature.payloadType", message: "signature.payloadType must be \(SignedTaskPayload.payloadType)")
        }
        guard (1...SignedTaskEnvelope.maxSignatures).contains(signature.signatures.count),
            signature.signatures.allSatisfy({ !$0.keyid.isEmpty && $0.keyid.utf8.count <= 256 && $0.sig.utf8.count <= 1024 })
        else {
            throw ValidationError(
                field: "signature.signatures",
                message: "signature.signatures must hold 1 to \(SignedTaskEnvelope.maxSignatures) entries, each with a "
                    + "keyid of 1 to 256 characters and a sig of at most 1 KiB")
        }
        guard signature.payload.utf8.count <= SignedTaskEnvelope.maxEncodedBytes, let bytes = signature.payloadBytes,
            let payload = try? SignedTaskPayload(canonical: bytes)
        else {
            throw ValidationError(
                field: "signature.payload", message: "signature.payload is not the base64 of a canonical task payload")
        }
        guard payload.content.taskID == id, payload.content.target == task.target else {
            throw ValidationError(
                field: "signature.payload",
                message: "the signature was made for task \(payload.content.taskID) of target "
                    + "\(payload.content.target), not for this request's id and target")
        }
    }

    /// A user token header: a compact JWT, so printable ASCII without spaces, at most 16 KiB.
    /// Errors never echo it.
    package static func userToken(_ header: String?) throws(ValidationError) -> String? {
        guard let header else { return nil }
        let token = header.trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count <= 16 * 1024,
            token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else {
            throw ValidationError(
                field: "X-Outpost-User-Token",
                message: "the X-Outpost-User-Token header must hold one compact JWT (printable, no spaces, at most 16 KiB)")
        }
        return token
    }

    /// Longest certificate signing request accepted (a P-256 CSR is under 1 KiB).
    static let maxCSRLength = 16_384

    /// A CSR's size (its content is checked by the agent CA).
    package static func validate(csr: String) throws(ValidationError) {
        guard csr.unicodeScalars.count <= maxCSRLength else {
            throw ValidationError(field: "csr", message: "csr must be at most \(maxCSRLength) characters")
        }
    }

    package static func validate(register request: RegisterRequest) throws(ValidationError) {
        guard request.protocolVersion == AgentProtocol.version else {
            throw ValidationError(
                field: "protocol_version",
                message:
                    "the agent speaks protocol version \(request.protocolVersion); this hub speaks \(AgentProtocol.version): run agent and hub of the same release"
            )
        }
        if let name = request.name { try Names.validateAgentName(name) }
        try Names.validateTags(request.tags)
        guard (1...1024).contains(request.concurrency) else {
            throw ValidationError(field: "concurrency", message: "concurrency must be from 1 to 1024")
        }
        for (field, value) in [
            ("version", request.version), ("os", request.os), ("provider_fingerprint", request.providerFingerprint),
        ] where value.utf8.count > 256 {
            throw ValidationError(field: field, message: "\(field) must be at most 256 characters")
        }
        if let csr = request.certificateSigningRequest { try validate(csr: csr) }
        if let idle = request.idleTimeoutSeconds, !(1...2_592_000).contains(idle) {
            throw ValidationError(
                field: "idle_timeout_seconds", message: "idle_timeout_seconds must be from 1 to 2592000 (30 days)")
        }
        if let signed = request.awsIdentity, signed.body.utf8.count > 8 * 1024 || signed.headers.count > 64 {
            throw ValidationError(
                field: "aws_identity", message: "aws_identity must be one signed STS request (body up to 8 KiB)")
        }
    }

    package static func validate(poll request: PollRequest) throws(ValidationError) {
        guard (0...1024).contains(request.freeSlots) else {
            throw ValidationError(field: "free_slots", message: "free_slots must be from 0 to 1024")
        }
        guard request.running.count <= 10_000 else {
            throw ValidationError(field: "running", message: "running lists more than 10000 tasks")
        }
    }

    package static func validate(finish request: FinishRequest) throws(ValidationError) {
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
        try validate(submitter: request.submitter)
    }

    /// What an agent reports it verified: bounded, since it is stored and shown.
    package static func validate(submitter: VerifiedSubmitter) throws(ValidationError) {
        if let subject = submitter.userSubject, subject.utf8.count > 1024 {
            throw ValidationError(field: "user_subject", message: "user_subject must be at most 1024 characters")
        }
        if let kid = submitter.signedBy, kid.isEmpty || kid.utf8.count > 256 {
            throw ValidationError(field: "signed_by", message: "signed_by must be 1 to 256 characters")
        }
        if let warning = submitter.signatureWarning, warning.utf8.count > 4096 {
            throw ValidationError(field: "signature_warning", message: "signature_warning must be at most 4 KiB")
        }
    }
}

extension InputValidation {
    /// Longest name reservation: 30 days.
    package static let nameReleaseRange = 0.0...2_592_000

    package static func validate(agentType request: CreateAgentTypeRequest) throws(ValidationError) {
        try Names.validateResourceName(request.name, kind: "agent type")
        if let seconds = request.nameReleaseSeconds, !nameReleaseRange.contains(seconds) {
            throw ValidationError(
                field: "name_release_seconds", message: "name_release_seconds must be from 0 to 2592000 (30 days)")
        }
        switch request.namePolicy ?? .agent {
        case .agent:
            guard request.aws == nil else {
                throw ValidationError(field: "aws", message: "aws rules only apply to the aws-sts name policy")
            }
        case .awsSTS:
            guard let aws = request.aws else {
                throw ValidationError(
                    field: "aws", message: "the aws-sts name policy needs aws.account_id (the AWS account agents belong to)")
            }
            try aws.validate()
        }
    }
}
