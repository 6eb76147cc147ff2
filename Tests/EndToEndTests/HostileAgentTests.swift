import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// An agent token in hostile hands, against a real hub process: each request is a
/// 4xx and the hub keeps serving (issue 11: one log chunk used to end the hub).
@Suite("Hostile agent", .serialized)
struct HostileAgentTests {
    @Test("a log chunk at offset Int64.max and other hostile numbers leave the hub up")
    func hostileNumbers() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let registered = try await send(
            cluster, .POST, "/api/v1/agent/register", token: cluster.registrationToken,
            json: #"{"name":"hostile-agent","tags":[],"version":"1","os":"linux","concurrency":1,"protocol_version":1}"#)
        #expect(registered.status == 201, "\(registered.body)")
        let agentToken = try WireJSON.decoder().decode(RegisterResponse.self, from: Data(registered.body.utf8)).agentToken

        let hostile: [(HTTPMethod, String, String?, String?)] = [
            // The issue's request, byte for byte.
            (.POST, "/api/v1/agent/tasks/tsk_x/log?offset=9223372036854775807", "x", "application/octet-stream"),
            (.POST, "/api/v1/agent/tasks/tsk_x/log?offset=9223372036854775808", "x", "application/octet-stream"),
            (.POST, "/api/v1/agent/tasks/tsk_x/log?offset=-9223372036854775808", "x", "application/octet-stream"),
            (.POST, "/api/v1/agent/tasks/tsk_x/finish", #"{"status":"failed","log_bytes":9223372036854775807,"exit_code":-2147483648}"#, "application/json"),
            (.POST, "/api/v1/agent/poll", #"{"free_slots":9223372036854775807}"#, "application/json"),
            (.POST, "/api/v1/agent/poll", #"{"free_slots":1,"running":["# + Array(repeating: #""tsk_x""#, count: 10_001).joined(separator: ",") + "]}", "application/json"),
        ]
        for (method, path, body, contentType) in hostile {
            let reply = try await send(cluster, method, path, token: agentToken, body: body, contentType: contentType)
            #expect((400..<500).contains(reply.status), "\(method) \(path): \(reply.status) \(reply.body)")
            #expect((try? WireJSON.decoder().decode(APIErrorBody.self, from: Data(reply.body.utf8))) != nil)
            let health = try await send(cluster, .GET, "/healthz", token: nil)
            #expect(health.status == 200, "the hub stopped answering after \(method) \(path)")
        }
    }

    private func send(
        _ cluster: Cluster, _ method: HTTPMethod, _ path: String, token: String?, json: String? = nil,
        body: String? = nil, contentType: String? = nil
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: cluster.hub.url + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let payload = json ?? body {
            request.headers.add(name: "Content-Type", value: json != nil ? "application/json" : contentType ?? "")
            request.body = .bytes(ByteBuffer(string: payload))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }
}
