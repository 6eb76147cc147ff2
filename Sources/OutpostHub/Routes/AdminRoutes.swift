import Foundation
import Hummingbird
import Logging
import OutpostCore
import OutpostStore

/// `/api/v1/agents` (reader; drain: operator) and `/api/v1/agent-types` (admin; list: reader).
extension RouteTable {
    mutating func addAdminRoutes(hub: Hub) {
        add(.get, "/api/v1/agents", auth: .reader) { request, _ in
            let all = try request.queryBool("all")
            return try .json(ListResponse(items: try await hub.listAgents(includeOffline: all)))
        }

        add(.post, "/api/v1/agents/{name}/drain", auth: .operator) { _, context in
            let name = try context.pathParameter("name")
            return try .json(try await hub.drainAgent(named: name))
        }

        add(.get, "/api/v1/ca", auth: .reader) { _, _ in
            guard let certificates = hub.agentCertificates else { throw Hub.noAgentCA }
            return try .json(certificates.authority.status(now: hub.now()))
        }

        add(.post, "/api/v1/ca/rotate", auth: .admin) { _, _ in
            guard let certificates = hub.agentCertificates else { throw Hub.noAgentCA }
            let status = try certificates.rotate(now: hub.now())
            hub.logger.notice(
                "rotated the agent CA; the previous one stays trusted until every certificate it signed has expired",
                metadata: [
                    "current": "\(status.current.subject)",
                    "previous_trusted_until": "\(status.previous?.trustedUntil.map { "\($0)" } ?? "-")",
                ])
            return try .json(status)
        }

        add(.post, "/api/v1/agent-types", auth: .admin) { request, _ in
            let body = try await request.decodeJSON(CreateAgentTypeRequest.self)
            return try .json(try await hub.createAgentType(body), status: .created)
        }

        add(.patch, "/api/v1/agent-types/{name}", auth: .admin) { request, context in
            let name = try context.pathParameter("name")
            let body = try await request.decodeJSON(UpdateAgentTypeRequest.self)
            return try .json(try await hub.updateAgentType(named: name, body))
        }

        add(.get, "/api/v1/agent-types", auth: .reader) { _, _ in
            try .json(ListResponse(items: try await hub.store.listAgentTypes()))
        }

        add(.post, "/api/v1/agent-types/{name}/rotate-token", auth: .admin) { _, context in
            let name = try context.pathParameter("name")
            return try .json(try await hub.rotateAgentTypeToken(named: name))
        }

        add(.post, "/api/v1/agent-types/{name}/revoke-token", auth: .admin) { _, context in
            let name = try context.pathParameter("name")
            return try .json(try await hub.revokeAgentTypeToken(named: name))
        }
    }
}

extension Hub {
    /// The store has the registrations; memory has the live view (busy, draining, last seen).
    func listAgents(includeOffline: Bool) async throws -> [AgentRecord] {
        let stored = try await store.listAgents(includeOffline: includeOffline)
        let live = await dispatcher.snapshot().agents
        return stored.map { record -> AgentRecord in
            var record = record
            if let now = live[record.id] {
                record.status = now.status
                // With several replicas the agent may poll another one now: the later time wins.
                record.lastSeenAt = max(record.lastSeenAt, now.lastSeen)
                record.runningTasks = isClustered ? record.runningTasks : now.activeTasks
            }
            return record
        }
    }

    /// Creates an agent type; its registration token is returned once, stored hashed.
    func createAgentType(named name: String, allowedTags: [String]? = nil) async throws -> AgentTypeTokenResponse {
        try await createAgentType(CreateAgentTypeRequest(name: name, allowedTags: allowedTags))
    }

    func createAgentType(_ request: CreateAgentTypeRequest) async throws -> AgentTypeTokenResponse {
        try InputValidation.validate(agentType: request)
        let requireClientCertificate = request.requireClientCertificate ?? false
        if requireClientCertificate && agentCertificates == nil {
            if configuration.tls != nil {
                throw HubError(
                    .invalidRequest,
                    "require_client_cert needs one agent CA shared by every replica of this hub: give agent_ca_cert "
                        + "and agent_ca_key (the same files on every replica) and restart the replicas")
            }
            throw HubError(
                .invalidRequest,
                "require_client_cert needs a hub that serves HTTPS (outpost server --tls-cert ... --tls-key ...)")
        }
        // Deny by default: a type created without a list admits only untagged agents.
        let allowedTags = try Self.allowedTags(request.allowedTags ?? [])
        let token = Identifiers.token(prefix: TokenKind.registration.rawValue)
        let now = now()
        let type = AgentType(
            name: request.name, namePolicy: request.namePolicy ?? .agent, aws: request.aws,
            nameReleaseSeconds: request.nameReleaseSeconds ?? 0, exclusive: request.exclusive ?? false,
            allowedTags: allowedTags, createdAt: now, tokenRotatedAt: now,
            requireClientCertificate: requireClientCertificate, signedTasks: request.signedTasks ?? .off)
        do {
            try await store.insertAgentType(type, registrationTokenHash: TokenHasher.hash(token))
        } catch {
            guard error.code == .conflict else { throw error }
            throw HubError(
                .conflict,
                "agent type \"\(request.name)\" already exists; rotate its token with POST /api/v1/agent-types/\(request.name)/rotate-token"
            )
        }
        if requireClientCertificate { agentCertificates?.addRequiringType(type.name) }
        logger.info(
            "agent type created",
            metadata: [
                "type": "\(type.name)", "name_policy": "\(type.namePolicy.rawValue)", "exclusive": "\(type.exclusive)",
                "allowed_tags": "\(type.allowedTags.map(\.pattern).joined(separator: ","))",
                "require_client_cert": "\(requireClientCertificate)", "signed_tasks": "\(type.signedTasks.rawValue)",
            ])
        return AgentTypeTokenResponse(agentType: type, registrationToken: token)
    }

    /// Changes what an agent type admits. A narrower list applies at once: online
    /// agents of the type carrying a tag it no longer allows are drained (they finish
    /// their running tasks, take no new ones, and are told to leave), and every
    /// registration from now on is checked against it.
    ///
    /// A new signed-task mode reaches each agent of the type at its next registration.
    func updateAgentType(named name: String, _ request: UpdateAgentTypeRequest) async throws -> AgentType {
        let change = AgentTypeChange(
            allowedTags: try request.allowedTags.map { patterns in try Self.allowedTags(patterns) },
            signedTasks: request.signedTasks)
        guard change.allowedTags != nil || change.signedTasks != nil else {
            guard let type = try await store.agentType(named: name) else {
                throw HubError.notFound("no agent type named \"\(name)\"")
            }
            return type
        }
        let type: AgentType
        do {
            type = try await store.updateAgentType(named: name, change)
        } catch {
            guard error.code == .notFound else { throw error }
            throw HubError.notFound("no agent type named \"\(name)\"")
        }
        if let signedTasks = change.signedTasks {
            logger.notice("agent type's signed-task mode changed", metadata: ["type": "\(name)", "signed_tasks": "\(signedTasks.rawValue)"])
        }
        if let allowedTags = change.allowedTags {
            logger.notice(
                "agent type's allowed tags changed",
                metadata: ["type": "\(name)", "allowed_tags": "\(allowedTags.map(\.pattern).joined(separator: ","))"])
            try await drainAgents(ofType: name, outside: allowedTags)
        }
        return type
    }

    /// Drains the online agents of `type` that carry a tag `allowedTags` does not allow.
    private func drainAgents(ofType type: String, outside allowedTags: [TagPattern]) async throws {
        for agent in try await store.listAgents(includeOffline: false) where agent.type == type {
            guard let tag = allowedTags.firstDisallowed(in: agent.tags) else { continue }
            logger.notice(
                "draining an agent whose tag its type no longer allows",
                metadata: ["agent": "\(agent.name)", "type": "\(type)", "tag": "\(tag)"])
            // Gone offline meanwhile: nothing to drain.
            _ = try? await drainAgent(named: agent.name)
        }
    }

    /// Parses `allowed_tags`, naming the first bad entry.
    private static func allowedTags(_ patterns: [String]) throws(ValidationError) -> [TagPattern] {
        guard patterns.count <= 256 else {
            throw ValidationError(field: "allowed_tags", message: "allowed_tags may list at most 256 tags or patterns")
        }
        var parsed: [TagPattern] = []
        for pattern in patterns where !parsed.contains(where: { $0.pattern == pattern }) {
            parsed.append(try TagPattern(pattern))
        }
        return parsed
    }

    /// Issues a new registration token; the old one stops working at once.
    func rotateAgentTypeToken(named name: String) async throws -> AgentTypeTokenResponse {
        let token = Identifiers.token(prefix: TokenKind.registration.rawValue)
        let type = try await replaceRegistrationToken(of: name, hash: TokenHasher.hash(token), revoked: false)
        return AgentTypeTokenResponse(agentType: type, registrationToken: token)
    }

    /// Closes registration: the token stops working and no new one is issued (rotate
    /// to open it again). Agents already registered keep their sessions.
    func revokeAgentTypeToken(named name: String) async throws -> AgentType {
        // A hash of a token nobody ever sees: nothing can match it.
        let unusable = TokenHasher.hash(Identifiers.token(prefix: "revoked"))
        let type = try await replaceRegistrationToken(of: name, hash: unusable, revoked: true)
        logger.notice("registration token revoked", metadata: ["type": "\(name)"])
        return type
    }

    private func replaceRegistrationToken(of name: String, hash: String, revoked: Bool) async throws -> AgentType {
        do {
            return try await store.rotateAgentTypeToken(named: name, newHash: hash, revoked: revoked, at: now())
        } catch {
            guard error.code == .notFound else { throw error }
            throw HubError.notFound("no agent type named \"\(name)\"")
        }
    }

    /// Drains an online agent: it finishes its running tasks, takes no new ones, and
    /// is then told to disconnect (it deregisters and exits 0).
    func drainAgent(named name: String) async throws -> AgentRecord {
        let local = await dispatcher.onlineAgentID(named: name)
        let stored = isClustered && local == nil
            ? try await store.listAgents(includeOffline: false).first { $0.name == name }?.id : nil
        guard let agentID = local ?? stored else {
            throw HubError.notFound("no online agent named \"\(name)\" (outpost agents lists them)")
        }
        await dispatcher.drain(agentID: agentID, now: now())
        publish(.agentDrained(agentID: agentID))
        try await store.setAgentStatus(id: agentID, status: .draining)
        logger.notice("agent draining on request", metadata: ["agent": "\(name)"])
        guard let record = try await listAgents(includeOffline: false).first(where: { $0.id == agentID }) else {
            throw HubError.notFound("agent \"\(name)\" went offline meanwhile")
        }
        return record
    }
}
