import HTTPTypes
import Hummingbird
import NIOCore
import OutpostCore
import OutpostStore

/// `/api/v1/agent/*`: the agent protocol (DESIGN.md). `register` takes a registration
/// token; everything else the agent token it returned.
extension RouteTable {
    /// Largest log chunk one request may carry (the agent sends at most 1 MiB).
    static let maxLogChunkBytes = AgentChannel.maxLogChunkBytes

    mutating func addAgentProtocolRoutes(hub: Hub) {
        add(.post, "/api/v1/agent/register", auth: .registration) { request, context in
            let body = try await request.decodeJSON(RegisterRequest.self)
            let response = try await hub.registerAgent(body, type: try context.agentType())
            return try .json(response, status: .created)
        }

        add(.post, "/api/v1/agent/certificate", auth: .agent) { request, context in
            let body = try await request.decodeJSON(CertificateRenewalRequest.self)
            try InputValidation.validate(csr: body.certificateSigningRequest)
            let agent = try context.agent()
            guard let certificates = hub.agentCertificates, certificates.requires(type: agent.type) else {
                throw HubError(.invalidRequest, "this agent's type does not use client certificates")
            }
            let csr = try certificates.authority.checked(csrPEM: body.certificateSigningRequest)
            return try .json(try hub.issueCertificate(csr, agentID: agent.id))
        }

        add(.post, "/api/v1/agent/poll", auth: .agent) { request, context in
            let body = try await request.decodeJSON(PollRequest.self)
            return try .json(try await hub.poll(agent: try context.agent(), request: body))
        }

        add(.post, "/api/v1/agent/tasks/{id}/start", auth: .agent) { request, context in
            let id = try context.pathParameter("id")
            let agent = try context.agent()
            let body = try await request.decodeOptionalJSON(StartRequest.self)
            let task = try await hub.startTask(id: id, agent: agent, submitter: body ?? .none)
            return try .json(task)
        }

        add(.post, "/api/v1/agent/tasks/{id}/log", auth: .agent) { request, context in
            let id = try context.pathParameter("id")
            let agent = try context.agent()
            guard let offset = try request.queryInt("offset", in: 0...Int64.max) else {
                throw HubError.invalid("query parameter \"offset\" is required: the byte offset of this chunk")
            }
            let chunk = try await request.collectBody(limit: Self.maxLogChunkBytes)
            let next = try await hub.appendLog(
                taskID: id, agent: agent, offset: offset, bytes: Array(chunk.readableBytesView))
            return try .json(LogAppendResponse(nextOffset: next))
        }

        add(.post, "/api/v1/agent/tasks/{id}/finish", auth: .agent) { request, context in
            let id = try context.pathParameter("id")
            let body = try await request.decodeJSON(FinishRequest.self)
            let outcome = try await hub.finishTask(id: id, agent: try context.agent(), finish: body)
            var response = try Response.json(outcome.task)
            if outcome.pollTookSlot { response.headers[.outpostPollTookSlot] = "true" }
            return response
        }

        // The persistent channel (docs/api.md): a WebSocket upgrade of this path is taken
        // by the listener before routing (`AgentChannelUpgrade`); a request that reaches
        // the router was not upgraded, and learns why.
        add(.get, AgentChannel.path, auth: .agent) { request, _ in
            throw AgentChannelUpgrade.refusal(offered: request.headers[.secWebSocketProtocol], upgrade: request.headers[.upgrade])
        }

        add(.post, "/api/v1/agent/deregister", auth: .agent) { _, context in
            let agent = try context.agent()
            try await hub.takeAgentOffline(agentID: agent.id, reason: "agent \(agent.name) deregistered")
            return .noContent()
        }
    }
}

extension HTTPField.Name {
    /// `AgentProtocol.pollTookSlotHeader`.
    static let outpostPollTookSlot = Self(AgentProtocol.pollTookSlotHeader)!
}
