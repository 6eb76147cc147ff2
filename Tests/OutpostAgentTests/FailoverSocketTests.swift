import Foundation
import Logging
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostTestSupport
import OutpostTransport
import Testing

/// `FailoverAgentHub` over real sockets: the failures come from the kernel and the TLS
/// stack, classified by the real client, not from a fake.
@Suite("Hub failover over real sockets")
struct FailoverSocketTests {
    @Test("a refused port and a server that cuts the TLS handshake are passed over; the replica that answers sees the client certificate")
    func passesDeadReplicas() async throws {
        let setup = try await AgentClientCertificateTests.Setup()
        defer { Task { await setup.server.stop() } }
        let refusing = try RefusingPort()
        let closing = try ClosingPort()
        let trust = HubTrust(roots: .caFile(path: "hub-ca.pem", certificates: [try setup.serverCA.certificateDER]))
        let logs = CapturedLogs(label: "outpost.agent.test")
        let urls = ["https://127.0.0.1:\(refusing.port)", closing.url, setup.server.url]
        // Over HTTP: the test counts the requests each call makes (a channel adds an upgrade).
        let hub = FailoverAgentHub(
            hubURLs: urls, registrationToken: "op_registration_token", trust: trust, channel: false, logger: logs.logger)
        hub.useClientIdentity(try setup.identity().0)

        // The test server answers 404 to the agent routes: an answer, so the call ends there.
        let error = await #expect(throws: ClientError.self) { try await hub.deregister(agentToken: "agent-token") }
        #expect(error?.status == 404)
        #expect(hub.currentURL == setup.server.url)
        #expect(try setup.presentedURI(0) == "outpost://agent/agt_1")
        let notices = logs.all.filter { $0.level == .notice }.map(\.text)
        #expect(notices.count == 1)
        #expect(notices.first?.contains(urls[0]) == true && notices.first?.contains(setup.server.url) == true)
        #expect(notices.first?.contains("connection refused") == true)

        // Sticky: the next call goes straight to the replica in use.
        _ = try? await hub.deregister(agentToken: "agent-token")
        #expect(setup.server.requestCount == 2)
        #expect(try setup.presentedURI(1) == "outpost://agent/agt_1")
    }

    @Test("each failure the real client reports for a dead replica is one the failover acts on")
    func realFailuresFailOver() async throws {
        let refusing = try RefusingPort()
        let closing = try ClosingPort()
        for url in ["http://127.0.0.1:\(refusing.port)", "https://127.0.0.1:\(refusing.port)", closing.url] {
            let client = HubClient(baseURL: url, token: "agent-token")
            let error = await #expect(throws: ClientError.self) { try await client.deregister() }
            #expect(error.map(HubFailoverStateMachine.failsOver) == true, "\(url): \(String(describing: error))")
        }
    }
}
