import Foundation
import HTTPTypes
import OutpostCore
import OutpostTestSupport
import Testing

@testable import OutpostHub

/// `POST /api/v1/tasks?follow=true`: submit and follow to the end in one response.
@Suite("Submit and follow")
struct TaskRunStreamTests {
    /// Decodes a whole task stream body.
    private func events(_ reply: Reply) throws -> [TaskStreamEvent] {
        var decoder = TaskStreamDecoder()
        var events: [TaskStreamEvent] = []
        try decoder.feed(reply.bytes) { events.append($0) }
        #expect(decoder.endedComplete(), "the stream ended before its finished event")
        return events
    }

    /// Runs `body` with a hub, an agent and a target `local`; the reply of the follow is
    /// what `body` returns after driving the task.
    private func withHubAndAgent(_ body: @Sendable (TestHub, API, SimAgent) async throws -> Void) async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .milliseconds(100) }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "local")
                let agent = try await SimAgent.register(api, registrationToken: try await hub.registrationToken())
                try await body(hub, api, agent)
            }
        }
    }

    @Test("one response carries the accepted task, every log byte with its offset, and the terminal task")
    func streamsTaskLogAndResult() async throws {
        try await withHubAndAgent { hub, api, agent in
            async let followed = api.send(.post, "/api/v1/tasks?follow=true", json: ["target": "local", "script": "x"])
            #expect(await eventually { hub.hub.watchers.subscriptionCount == 1 })
            let assignment = try #require(try await agent.poll(api).assignments.first)
            #expect(try await agent.start(api, assignment.taskID).status == .ok)
            #expect(try await agent.appendLog(api, assignment.taskID, offset: 0, "one\n").status == .ok)
            #expect(try await agent.appendLog(api, assignment.taskID, offset: 4, "two\n").status == .ok)
            #expect(try await agent.finish(api, assignment.taskID, status: .failed, exitCode: 3, logBytes: 8).status == .ok)

            let reply = try await followed
            #expect(reply.status == .created)
            #expect(reply.header("Content-Type") == TaskStream.contentType)
            let events = try events(reply)
            guard case .accepted(let accepted) = events.first, case .finished(let final) = events.last else {
                Issue.record("the stream does not start with accepted and end with finished: \(events)")
                return
            }
            #expect(accepted.id == assignment.taskID)
            #expect(accepted.status == .queued)
            #expect(final.status == .failed)
            #expect(final.exitCode == 3)
            var log: [UInt8] = []
            for case .log(let offset, let bytes) in events {
                #expect(offset == Int64(log.count))
                log += bytes
            }
            #expect(String(decoding: log, as: UTF8.self) == "one\ntwo\n")
            #expect(hub.hub.watchers.subscriptionCount == 0)
        }
    }

    @Test("?log=false: the accepted and the terminal task only")
    func resultOnly() async throws {
        try await withHubAndAgent { hub, api, agent in
            async let followed = api.send(
                .post, "/api/v1/tasks?follow=true&log=false", json: ["target": "local", "script": "x"])
            #expect(await eventually { hub.hub.watchers.subscriptionCount == 1 })
            let assignment = try #require(try await agent.poll(api).assignments.first)
            #expect(try await agent.start(api, assignment.taskID).status == .ok)
            #expect(try await agent.appendLog(api, assignment.taskID, offset: 0, "not sent\n").status == .ok)
            #expect(try await agent.finish(api, assignment.taskID, logBytes: 9).status == .ok)
            let events = try events(try await followed)
            #expect(events.count == 2)
            guard case .finished(let final) = events.last else {
                Issue.record("no finished event: \(events)")
                return
            }
            #expect(final.status == .succeeded)
            #expect(final.logBytes == 9)
        }
    }

    @Test("a refused submission is an ordinary API error, not a stream")
    func refusedSubmission() async throws {
        try await withHubAndAgent { hub, api, _ in
            let reply = try await api.send(.post, "/api/v1/tasks?follow=true", json: ["target": "nowhere", "script": "x"])
            #expect(reply.status == .notFound)
            #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(reply.error?.code == "not_found")
            let malformed = try await api.send(.post, "/api/v1/tasks?follow=maybe", json: ["target": "local", "script": "x"])
            #expect(malformed.status == .badRequest)
            #expect(malformed.error?.message.contains("follow") == true)
            #expect(hub.hub.watchers.subscriptionCount == 0)
        }
    }
}
