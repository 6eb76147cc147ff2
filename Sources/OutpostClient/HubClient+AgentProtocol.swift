import AsyncHTTPClient
import Foundation
package import NIOCore
import NIOHTTP1
package import OutpostCore

/// The agent's side of the agent ⇄ hub protocol (DESIGN.md). The client's
/// token is the registration token for `register` and the agent token after.
extension HubClient {
    package func register(_ request: RegisterRequest) async throws(ClientError) -> RegisterResponse {
        try await call(.POST, "/api/v1/agent/register", json: request)
    }

    /// Long poll: returns work, control messages, or an empty answer once the hub's
    /// poll wait ends. `timeout` must exceed the hub's poll wait.
    package func poll(_ request: PollRequest, timeout: TimeAmount) async throws(ClientError) -> PollResponse {
        try await call(.POST, "/api/v1/agent/poll", json: request, timeout: timeout)
    }

    /// `report`: what the agent verified about the submitter; an empty one sends no body.
    package func startTask(id: String, _ report: StartRequest = StartRequest()) async throws(ClientError) -> TaskRecord {
        guard !report.isEmpty else { return try await call(.POST, "/api/v1/agent/tasks/\(Self.segment(id))/start") }
        return try await call(.POST, "/api/v1/agent/tasks/\(Self.segment(id))/start", json: report)
    }

    /// Appends masked log bytes at `offset`. Idempotent: a retried chunk is not duplicated.
    /// - Throws: `ClientError` with `apiCode == .logGap` and `expectedOffset` when the hub misses bytes.
    package func appendLog(taskID: String, offset: Int64, bytes: [UInt8]) async throws(ClientError) -> LogAppendResponse {
        let (_, body) = try await send(
            .POST, "/api/v1/agent/tasks/\(Self.segment(taskID))/log?offset=\(offset)", body: bytes,
            contentType: "application/octet-stream")
        return try decode(LogAppendResponse.self, from: body, path: "log")
    }

    /// Reports a task's end: the task as the hub stored it, and whether the agent's
    /// waiting poll took over its slot (`AgentProtocol.pollTookSlotHeader`).
    package func finishTask(id: String, _ request: FinishRequest) async throws(ClientError)
        -> (task: TaskRecord, pollTookSlot: Bool)
    {
        let path = "/api/v1/agent/tasks/\(Self.segment(id))/finish"
        let bytes: [UInt8]
        do {
            bytes = Array(try WireJSON.encoder().encode(request))
        } catch {
            throw ClientError(.invalidRequest, "cannot encode the request body: \(error)")
        }
        let (head, body) = try await send(.POST, path, body: bytes)
        let tookSlot = head.headers.first(name: AgentProtocol.pollTookSlotHeader) == "true"
        return (try decode(TaskRecord.self, from: body, path: path), tookSlot)
    }

    /// Renews the agent's client certificate; must go out presenting the current one.
    package func renewCertificate(_ request: CertificateRenewalRequest) async throws(ClientError) -> ClientCertificateGrant {
        try await call(.POST, "/api/v1/agent/certificate", json: request)
    }

    package func deregister() async throws(ClientError) {
        _ = try await send(.POST, "/api/v1/agent/deregister")
    }
}

extension HubClient {
    /// The agent's answer to a `list_secrets` control message.
    package func reportSecretListing(requestID: String, _ listing: SecretListing) async throws(ClientError) {
        let bytes: [UInt8]
        do { bytes = Array(try WireJSON.encoder().encode(listing)) } catch {
            throw ClientError(.invalidRequest, "cannot encode the secret listing: \(error)")
        }
        _ = try await send(.POST, "/api/v1/agent/secret-listings/\(Self.segment(requestID))", body: bytes)
    }
}
