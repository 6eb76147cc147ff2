import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import Testing

@testable import OutpostHub

/// The hub's part in signed tasks: it takes the client's id and envelope, refuses
/// what names another task, stores the envelope, hands it on byte for byte, and records
/// the key id the agent verified. It never verifies a signature itself (it holds no key
/// agents trust), so these envelopes carry made-up signature bytes.
@Suite("Signed task submission")
struct SignedTaskSubmissionTests {
    static let id = "tsk_signed0000000000000001"

    /// An envelope for task `id` of target `target` (the signature is not checked here).
    static func envelope(id: String = id, target: String = "local", type: String = SignedTaskPayload.payloadType)
        throws -> SignedTaskEnvelope
    {
        let content = SignedTaskContent(
            taskID: id, target: target, integration: "bash", scriptSHA256: String(repeating: "0", count: 64), env: [:],
            secrets: [], tags: [], timeoutSeconds: 60)
        let payload = try SignedTaskPayload(content: content, notBefore: 1, expires: 2, nonce: "AAAAAAAAAAAAAAAAAAAAAA")
            .canonicalBytes()
        var envelope = SignedTaskEnvelope.make(payload: payload, keyID: "alice", signature: Array(repeating: 7, count: 64))
        envelope.payloadType = type
        return envelope
    }

    @Test("the id and envelope are kept; the agent gets the envelope unchanged and reports the key it verified")
    func storedAndHandedOn() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let envelope = try Self.envelope()
                let created = try await api.send(
                    .post, "/api/v1/tasks",
                    encodable: CreateTaskRequest(target: "local", script: "echo hi", timeoutSeconds: 60, id: Self.id, signature: envelope))
                #expect(created.status == .created, "\(created.text)")
                let task = try created.decode(TaskRecord.self)
                #expect(task.id == Self.id)
                #expect(task.signed)
                #expect(task.signedBy == nil)

                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                let assignment = try #require(try await agent.poll(api).assignments.first)
                #expect(assignment.taskID == Self.id)
                #expect(assignment.signature == envelope)

                let started = try await api.send(
                    .post, "/api/v1/agent/tasks/\(Self.id)/start", token: .bearer(agent.token),
                    encodable: StartRequest(signedBy: "alice"))
                #expect(started.status == .ok, "\(started.text)")
                #expect(try await hub.store.task(id: Self.id)?.signedBy == "alice")

                let again = try await api.send(
                    .post, "/api/v1/tasks", encodable: CreateTaskRequest(target: "local", script: "echo hi", id: Self.id))
                #expect(again.status == .conflict)
                #expect(again.error?.message.contains("already exists") == true)
            }
        }
    }

    @Test("envelopes that cannot be for this request are refused with the field named")
    func refused() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                var garbled = try Self.envelope()
                garbled.payload = "%%%"
                var unsigned = try Self.envelope()
                unsigned.signatures = []
                let cases: [(CreateTaskRequest, String)] = [
                    (CreateTaskRequest(target: "local", script: "x", signature: try Self.envelope()), "must carry the id it was signed for"),
                    (CreateTaskRequest(target: "local", script: "x", id: "tsk_other00000000000000001", signature: try Self.envelope()),
                     "the signature was made for task \(Self.id) of target local"),
                    (CreateTaskRequest(target: "local", script: "x", id: Self.id, signature: try Self.envelope(target: "other")),
                     "not for this request's id and target"),
                    (CreateTaskRequest(target: "local", script: "x", id: Self.id, signature: try Self.envelope(type: "application/json")),
                     "signature.payloadType must be application/vnd.outpost.task.v1+json"),
                    (CreateTaskRequest(target: "local", script: "x", id: Self.id, signature: garbled), "signature.payload is not"),
                    (CreateTaskRequest(target: "local", script: "x", id: Self.id, signature: unsigned), "signature.signatures must hold"),
                    (CreateTaskRequest(target: "local", script: "x", id: "task-1"), "id must be \"tsk_\""),
                    (CreateTaskRequest(target: "local", script: "x", id: "tsk_../../etc/passwd"), "id must be \"tsk_\""),
                ]
                for (request, message) in cases {
                    let reply = try await api.send(.post, "/api/v1/tasks", encodable: request)
                    #expect(reply.status == .badRequest, "\(message): \(reply.text)")
                    #expect(reply.error?.message.contains(message) == true, "\(reply.text)")
                }
                #expect(try await hub.store.task(id: Self.id) == nil)
            }
        }
    }
}
