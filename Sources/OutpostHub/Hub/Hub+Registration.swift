import Foundation
import Logging
import OutpostCore
import OutpostStore
import X509

/// Registration: the agent type's allowed tags bound what the agent may claim to
/// be, its name policy picks the name, the store admits the agent (name free and
/// not reserved, exclusive tag set free, same provider layout as its peers) in one
/// transaction, and the hub issues the session token.
///
/// A refusal tells the registering agent only about itself: which of its tags, or
/// that its tag set is held or its layout differs. Who holds the tags and what
/// their layout is goes to the hub's log for the operator, never to the caller,
/// who may hold nothing but some other pool's registration token.
extension Hub {
    /// Registers an agent under `type` and issues its session token.
    // Kept in small steps: Swift 6.3's optimizer crashed (coro-split) on this function
    // when its whole body was one coroutine.
    func registerAgent(_ request: RegisterRequest, type: AgentType) async throws -> RegisterResponse {
        try InputValidation.validate(register: request)
        try refuseDisallowedTags(request.tags, type: type)
        let csr = try certificateRequest(request, type: type)
        let naming = try await agentNaming(for: request, type: type)
        let token = Identifiers.token(prefix: TokenKind.agent.rawValue)
        let hash = TokenHasher.hash(token)
        let record = try await admit(request, type: type, naming: naming, tokenHash: hash)
        let grant = try csr.map { csr in try issueCertificate(csr, agentID: record.id) }
        await dispatcher.register(record, tokenHash: hash, now: record.registeredAt)
        logRegistered(record, type: type)
        return RegisterResponse(
            agentID: record.id, name: record.name, agentToken: token,
            pollTimeoutSeconds: configuration.effectivePollTimeout.seconds,
            heartbeatTimeoutSeconds: configuration.heartbeatTimeout.seconds, clientCertificate: grant,
            signedTasks: type.signedTasks)
    }

    /// For a type that requires client certificates: the agent's checked CSR
    /// (before anything is stored, so a bad one leaves no agent behind).
    private func certificateRequest(_ request: RegisterRequest, type: AgentType) throws -> CertificateSigningRequest? {
        guard type.requireClientCertificate else { return nil }
        guard let agentCertificates else {
            throw HubError(
                .clientCertificateRequired,
                "agent type \"\(type.name)\" requires client certificates, and this hub serves plain HTTP (give it --tls-cert)")
        }
        guard let pem = request.certificateSigningRequest else {
            throw HubError(
                .clientCertificateRequired,
                "agent type \"\(type.name)\" requires a client certificate: the agent must send a csr (Outpost agents do, to an https:// hub)")
        }
        return try agentCertificates.authority.checked(csrPEM: pem)
    }

    /// Signs an agent's certificate and says so in the log (its expiry, never key material).
    func issueCertificate(_ csr: CertificateSigningRequest, agentID: String) throws -> ClientCertificateGrant {
        guard let agentCertificates else { throw HubError(.internal, "no agent CA on a hub without TLS") }
        let grant = try agentCertificates.authority.issue(csr: csr, agentID: agentID, now: now())
        logger.info(
            "issued a client certificate", metadata: ["agent_id": "\(agentID)", "not_after": "\(grant.notValidAfter)"])
        return grant
    }

    /// 403 when the agent claims a tag its type does not allow (logged for the operator).
    private func refuseDisallowedTags(_ tags: TagSet, type: AgentType) throws {
        guard let tag = type.allowedTags.firstDisallowed(in: tags) else { return }
        logger.warning(
            "registration refused: tag not allowed for the agent type",
            metadata: ["type": "\(type.name)", "tag": "\(tag)", "tags": "\(tags)"])
        throw HubError(
            .forbidden,
            "agent type \"\(type.name)\" may not carry tag \"\(tag)\"; an admin can allow it with outpost agent-type set \(type.name) --allowed-tags ..."
        )
    }

    /// Inserts the agent in one store transaction with every admission check; a random
    /// name that collides with a live or reserved one is drawn again a few times.
    private func admit(
        _ request: RegisterRequest, type: AgentType, naming: AgentNaming, tokenHash: String
    ) async throws -> AgentRecord {
        let exclusiveKey = type.exclusive ? "\(type.name)|\(request.tags.description)" : nil
        let attempts = naming.isRandom ? 5 : 1
        for attempt in 1...attempts {
            let now = now()
            let record = AgentRecord(
                id: Identifiers.make(prefix: "agt"), name: naming.isRandom ? Identifiers.readableAgentName() : naming.name,
                type: type.name, tags: request.tags, status: .online, version: request.version, os: request.os,
                concurrency: request.concurrency, providerFingerprint: request.providerFingerprint,
                registeredAt: now, lastSeenAt: now, awsARN: naming.awsARN, disconnectAfterJob: request.disconnectAfterJob,
                idleTimeoutSeconds: request.idleTimeoutSeconds,
                // What the agent will enforce: its own mode, raised by the type's hint it gets back.
                signedTasks: max(request.signedTasks, type.signedTasks))
            do {
                try await store.insertAgent(record, tokenHash: tokenHash, exclusiveKey: exclusiveKey)
                return record
            } catch {
                if attempt < attempts, error.isNameCollision { continue }
                logRefusal(error, record: record, type: type)
                throw refusal(error, record: record, type: type)
            }
        }
        throw HubError(.internal, "agent registration did not complete")
    }

    private func logRegistered(_ record: AgentRecord, type: AgentType) {
        var metadata: Logger.Metadata = [
            "agent": "\(record.name)", "type": "\(type.name)", "tags": "\(record.tags)",
        ]
        if let arn = record.awsARN { metadata["aws_identity"] = "\(arn)" }
        if record.disconnectAfterJob { metadata["disconnect_after_job"] = "true" }
        if let idle = record.idleTimeoutSeconds { metadata["idle_timeout_seconds"] = "\(idle)" }
        logger.info("agent registered", metadata: metadata)
    }

    /// The name the agent will get, by its type's policy.
    private func agentNaming(for request: RegisterRequest, type: AgentType) async throws -> AgentNaming {
        switch type.namePolicy {
        case .agent:
            return request.name.map { AgentNaming(name: $0) } ?? AgentNaming(name: "", isRandom: true)
        case .awsSTS:
            guard let rules = type.aws else {
                throw HubError(.internal, "agent type \"\(type.name)\" has the aws-sts name policy but no AWS rules")
            }
            guard let signed = request.awsIdentity else {
                throw HubError(
                    .awsIdentityRequired,
                    "agent type \"\(type.name)\" names agents after their AWS identity: the agent must send a signed STS GetCallerIdentity request (it does so by itself when the hub asks; check the agent's AWS credentials)"
                )
            }
            let identity = try await callerIdentity.verify(signed, rules: rules)
            logger.info(
                "verified an agent's AWS identity",
                metadata: ["type": "\(type.name)", "arn": "\(identity.arn)", "agent": "\(identity.agentName)"])
            return AgentNaming(name: identity.agentName, awsARN: identity.arn)
        }
    }

    /// The operator's side of a refusal: who holds the tag set, how the layouts differ.
    private func logRefusal(_ error: StoreError, record: AgentRecord, type: AgentType) {
        var metadata: Logger.Metadata = ["agent": "\(record.name)", "type": "\(type.name)", "tags": "\(record.tags)"]
        switch error.code {
        case .exclusiveTagsHeld(let holder):
            metadata["holder"] = "\(holder)"
            logger.notice("registration refused: exclusive tag set held", metadata: metadata)
        case .providerLayoutMismatch(let holder, let layout):
            metadata["holder"] = "\(holder)"
            metadata["difference"] = "\(ProviderLayout.difference(mine: record.providerFingerprint, theirs: layout, holder: holder))"
            logger.notice("registration refused: provider layout differs from the pool's", metadata: metadata)
        default:
            break
        }
    }

    /// The store's refusal as the API error the agent sees.
    private func refusal(_ error: StoreError, record: AgentRecord, type: AgentType) -> any Error {
        let tags = record.tags.isEmpty ? "no tags" : "tags \(record.tags)"
        switch error.code {
        case .conflict:
            return HubError(
                .nameInUse,
                "agent name \"\(record.name)\" is held by an agent that is still online; choose another name or wait until the hub marks it offline (after \(Int(configuration.heartbeatTimeout.seconds)) s without heartbeats)"
            )
        case .nameReserved(let until):
            return HubError(
                .nameReserved,
                "agent name \"\(record.name)\" is reserved until \(until.formatted(.iso8601)) (agent type \"\(type.name)\" keeps a disconnected agent's name for \(Int(type.nameReleaseSeconds)) s); choose another name or wait"
            )
        case .exclusiveTagsHeld:
            return HubError(
                .exclusiveTagsHeld,
                "agent type \"\(type.name)\" is exclusive and another online agent already holds \(tags); stop or drain that agent (the hub's log names it, as does outpost agents) or give this one other tags"
            )
        case .providerLayoutMismatch:
            return HubError(
                .providerLayoutMismatch,
                "agents with \(tags) must share one secret-provider layout, so a task behaves the same on each, and this agent's differs from the pool's; the hub's log says how"
            )
        default:
            return error
        }
    }
}

/// How a registering agent will be named.
private struct AgentNaming {
    var name: String
    /// Draw a random readable name (again on a collision).
    var isRandom = false
    /// The verified AWS caller, for `aws-sts`.
    var awsARN: String?
}

extension StoreError {
    /// A collision a freshly drawn random name can get past.
    fileprivate var isNameCollision: Bool {
        switch code {
        case .conflict, .nameReserved: true
        default: false
        }
    }
}
