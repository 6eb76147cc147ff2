import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// A client that goes away halfway through sending a request (an agent killed
/// mid-poll) is the client's failure: no `error` line in the hub's log for it.
@Suite("Clients gone mid-request", .serialized)
struct ClientGoneTests {
    @Test("an agent killed halfway through sending its poll leaves no error in the hub's log")
    func agentGoneMidBody() async throws {
        let cluster = try await Cluster()
        defer { cluster.terminate() }
        let session = try await cluster.client.withToken(cluster.registrationToken).register(
            RegisterRequest(name: "vanishing-agent", tags: .empty, version: "test", os: "linux", concurrency: 1))
        let port = try #require(cluster.hub.url.split(separator: ":").last.flatMap { UInt16($0) })
        let head =
            "POST /api/v1/agent/poll HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(session.agentToken)\r\n"
            + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"free_slots\""
        for _ in 0..<3 {
            let socket = try await RawSocket.open(port: Int(port))
            #expect(socket.send(head))
            // Dropping the socket closes it: the agent is gone mid-body.
        }

        // Before the fix the hub logged "request failed" at error level within
        // milliseconds of each hang-up; two seconds without it is the evidence.
        let logged = await eventually(timeout: .seconds(2)) { cluster.hub.process.stderr.contains(" error ") }
        #expect(!logged, "the hub logged an error for a client that went away:\n\(cluster.hub.process.stderr)")
        try await cluster.client.health()
    }
}
