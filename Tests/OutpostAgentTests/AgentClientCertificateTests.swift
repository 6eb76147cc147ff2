import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOSSL
@testable import OutpostAgent
@testable import OutpostClient
import OutpostCore
import OutpostTestSupport
import OutpostTransport
import SwiftASN1
import Testing
import X509

/// The agent's hub calls over a real TLS connection to a server that asks for client
/// certificates: what the server saw is what the hub would see.
@Suite("Agent client certificates over TLS")
struct AgentClientCertificateTests {
    /// A server certificate from `serverCA`, client certificates checked against `clientCA`.
    struct Setup {
        let serverCA: TestCertificateAuthority
        let clientCA: TestCertificateAuthority
        let server: TestTLSServer
        let key: AgentKey
        let hub: HubClientAgentHub

        init() async throws {
            serverCA = try TestCertificateAuthority(name: "Hub CA")
            clientCA = try TestCertificateAuthority(name: "Agent CA")
            server = try await TestTLSServer(credential: try serverCA.issue(), clientCAs: [try clientCA.certificatePEM])
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-mtls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            key = try AgentKey.loadOrCreate(path: directory.appendingPathComponent("identity.key").path)
            let trust = HubTrust(roots: .caFile(path: "hub-ca.pem", certificates: [try serverCA.certificateDER]))
            hub = HubClientAgentHub(hubURL: server.url, registrationToken: "op_registration_token", trust: trust)
        }

        /// A certificate for the agent's key, signed by `clientCA`, as the hub grants it.
        func identity(agentID: String = "agt_1") throws -> (ClientIdentity, certificate: Certificate) {
            let pem = try clientCA.sign(
                csrPEM: try key.certificateSigningRequest(commonName: "build-7"), uri: ClientCertificateGrant.uri(agentID: agentID))
            return (try ClientIdentity(certificatePEM: pem, privateKeyPEM: key.pemRepresentation), try Certificate(pemEncoded: pem))
        }

        /// The URI SAN of the client certificate the server saw with request `index`, or `nil` for none.
        func presentedURI(_ index: Int) throws -> String? {
            let seen = server.clientCertificates
            guard index < seen.count else { throw TestCertificateError(message: "only \(seen.count) requests arrived") }
            guard let der = seen[index] else { return nil }
            let certificate = try Certificate(derEncoded: der)
            return try certificate.extensions.subjectAlternativeNames?.compactMap { name -> String? in
                if case .uniformResourceIdentifier(let uri) = name { return uri }
                return nil
            }.first
        }
    }

    @Test("calls after the identity is set present it; registration never does")
    func presentsIdentity() async throws {
        let setup = try await Setup()
        defer { Task { await setup.server.stop() } }
        // The test server answers 404 to the agent routes; only what it saw matters here.
        _ = try? await setup.hub.deregister(agentToken: "agent-token")
        #expect(try setup.presentedURI(0) == nil)

        setup.hub.useClientIdentity(try setup.identity().0)
        _ = try? await setup.hub.poll(PollRequest(running: [], freeSlots: 1), timeout: .seconds(5), agentToken: "agent-token")
        _ = try? await setup.hub.register(RegisterRequest(name: "build-7", tags: TagSet([]), version: "1", os: "Linux", concurrency: 1))
        _ = try? await setup.hub.appendLog(taskID: "tsk_1", offset: 0, bytes: Array("x".utf8), agentToken: "agent-token")
        #expect(try setup.presentedURI(1) == "outpost://agent/agt_1")
        #expect(try setup.presentedURI(2) == nil)
        #expect(try setup.presentedURI(3) == "outpost://agent/agt_1")
    }

    @Test("a renewal's new certificate is presented on the next calls")
    func swapsIdentity() async throws {
        let setup = try await Setup()
        defer { Task { await setup.server.stop() } }
        setup.hub.useClientIdentity(try setup.identity(agentID: "agt_old").0)
        _ = try? await setup.hub.deregister(agentToken: "agent-token")
        setup.hub.useClientIdentity(try setup.identity(agentID: "agt_new").0)
        _ = try? await setup.hub.renewCertificate(CertificateRenewalRequest(certificateSigningRequest: "csr"), agentToken: "agent-token")
        _ = try? await setup.hub.deregister(agentToken: "agent-token")
        #expect(try setup.presentedURI(0) == "outpost://agent/agt_old")
        #expect(try setup.presentedURI(1) == "outpost://agent/agt_new")
        #expect(try setup.presentedURI(2) == "outpost://agent/agt_new")
        setup.hub.useClientIdentity(nil)
        _ = try? await setup.hub.deregister(agentToken: "agent-token")
        #expect(try setup.presentedURI(3) == nil)
    }

    @Test("the system trust with an identity still presents it (a configuration is made for it)")
    func systemTrustCarriesIdentity() async throws {
        let setup = try await Setup()
        defer { Task { await setup.server.stop() } }
        let client = HubClient(baseURL: setup.server.url, token: "agent-token").withClientIdentity(try setup.identity().0)
        let request = try await client.makeRequest(.POST, "/api/v1/agent/poll", body: nil, contentType: "application/json")
        let configuration = try #require(request.tlsConfiguration)
        #expect(configuration.certificateChain.count == 1)
        #expect(configuration.privateKey != nil)
        #expect(configuration.certificateVerification == .fullVerification)
        #expect(configuration.trustRoots == .default)
        // Without an identity the shared client's own configuration (system trust) is used.
        let plain = try await HubClient(baseURL: setup.server.url, token: "t").makeRequest(.POST, "/x", body: nil, contentType: "")
        #expect(plain.tlsConfiguration == nil)
    }
}
