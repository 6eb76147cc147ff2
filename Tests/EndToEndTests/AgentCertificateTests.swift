import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// Agent types with `--require-client-cert`, against a real hub process over
/// real TLS: what the hub issues, what it accepts, what it refuses, and a CA
/// rotation. The agent's side (its key, renewal) is played by the test.
@Suite("Agent client certificates (processes)", .serialized)
struct AgentCertificateTests {
    /// A registered test agent: its key, token and the certificate the hub issued.
    struct Registered {
        let key: TestAgentKey
        let id: String
        let token: String
        var grant: ClientCertificateGrant
    }

    static func register(_ setup: HubTLSTests.Setup, token: String, key: TestAgentKey, name: String) async throws -> (Int, String) {
        let request = RegisterRequest(
            name: name, tags: TagSet([]), version: "test", os: "linux", concurrency: 1,
            certificateSigningRequest: try key.csrPEM(commonName: name))
        let json = String(decoding: try WireJSON.encoder().encode(request), as: UTF8.self)
        let connection = try await setup.connect()
        defer { Task { await connection.close() } }
        let answer = try await connection.post("/api/v1/agent/register", token: token, json: json)
        return (answer.status, answer.body)
    }

    static func registered(_ setup: HubTLSTests.Setup, token: String, name: String) async throws -> Registered {
        let key = TestAgentKey()
        let (status, body) = try await register(setup, token: token, key: key, name: name)
        #expect(status == 201, "\(body)")
        let response = try WireJSON.decoder().decode(RegisterResponse.self, from: Data(body.utf8))
        let grant = try #require(response.clientCertificate, "the hub issued no certificate")
        return Registered(key: key, id: response.agentID, token: response.agentToken, grant: grant)
    }

    /// `POST /api/v1/agent/certificate` as `token` over a connection presenting `certificate` (or nothing).
    static func renew(
        _ setup: HubTLSTests.Setup, port: Int? = nil, token: String, key: TestAgentKey, presenting certificate: String?
    ) async throws -> (status: Int, body: String) {
        let connection = try await TLSTestConnection(
            host: "127.0.0.1", port: port ?? setup.port, trustPEM: try setup.authority.certificatePEM,
            clientCertificatePEM: certificate, clientKeyPEM: certificate == nil ? nil : key.privateKeyPEM)
        defer { Task { await connection.close() } }
        let json = String(decoding: try WireJSON.encoder().encode(CertificateRenewalRequest(certificateSigningRequest: try key.csrPEM())), as: UTF8.self)
        return try await connection.post("/api/v1/agent/certificate", token: token, json: json)
    }

    @Test("the hub issues a certificate naming the agent; with it calls work; a stolen token without the key, or another agent's certificate, is refused")
    func issuesAndEnforces() async throws {
        let setup = try await HubTLSTests.Setup(environment: ["OUTPOST_SERVER_AGENT_CERT_LIFETIME": "60s"])
        do {
            let client = setup.hub.client
            let type = try await client.createAgentType(
                CreateAgentTypeRequest(name: "mtls", allowedTags: ["*"], requireClientCertificate: true))
            #expect(type.agentType.requireClientCertificate)
            let a = try await Self.registered(setup, token: type.registrationToken, name: "mtls-agent-a")
            let b = try await Self.registered(setup, token: type.registrationToken, name: "mtls-agent-b")

            // What was issued: the agent's own key, its id in the URI SAN, about the configured lifetime.
            let certificate = try TestCertificateInspection(pem: a.grant.certificate)
            #expect(certificate.uris == [ClientCertificateGrant.uri(agentID: a.id)])
            #expect(try certificate.publicKeyMatches(a.key))
            let lifetime = a.grant.notValidAfter.timeIntervalSinceNow
            #expect(lifetime > 50 && lifetime <= 60, "lifetime \(lifetime)")
            #expect(a.grant.renewAfter < a.grant.notValidAfter)
            #expect(try await client.agentCA().current.subject == certificate.issuer)

            // With its certificate the agent's calls work (here: a renewal).
            let renewed = try await Self.renew(setup, token: a.token, key: a.key, presenting: a.grant.certificate)
            #expect(renewed.status == 200, "\(renewed.body)")

            // The token alone (stolen, without the key) is refused, saying why.
            let stolen = try await Self.renew(setup, token: a.token, key: a.key, presenting: nil)
            #expect(stolen.status == 403)
            #expect(stolen.body.contains(#""code":"client_certificate_required""#), "\(stolen.body)")
            #expect(stolen.body.contains("presented none"))

            // A valid certificate of agent A with agent B's token is refused.
            let crossed = try await Self.renew(setup, token: b.token, key: a.key, presenting: a.grant.certificate)
            #expect(crossed.status == 403)
            #expect(crossed.body.contains("not the agent of this token"), "\(crossed.body)")

            // A certificate for A's id from a CA the hub does not trust fails the handshake.
            let forger = try TestCertificateAuthority(name: "Forger")
            let forged = try forger.issueClientCertificate(for: a.key, uri: ClientCertificateGrant.uri(agentID: a.id))
            await #expect(throws: (any Error).self) {
                _ = try await Self.renew(setup, token: a.token, key: a.key, presenting: forged)
            }

            // Registering without a CSR is refused with the reason.
            let bare = RegisterRequest(name: "mtls-agent-c", tags: TagSet([]), version: "test", os: "linux", concurrency: 1)
            let connection = try await setup.connect()
            let refused = try await connection.post(
                "/api/v1/agent/register", token: type.registrationToken,
                json: String(decoding: try WireJSON.encoder().encode(bare), as: UTF8.self))
            await connection.close()
            #expect(refused.status == 403)
            #expect(refused.body.contains("must send a csr"), "\(refused.body)")
            #expect(!setup.hub.process.stderr.contains("BEGIN EC PRIVATE KEY"))
            #expect(!setup.hub.process.stderr.contains("BEGIN PRIVATE KEY"))
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("a real agent of an mTLS type registers, runs a long task, renews its 5 s certificate several times and rides through a CA rotation without interruption")
    func realAgentRenewsDuringTask() async throws {
        let setup = try await HubTLSTests.Setup(environment: ["OUTPOST_SERVER_AGENT_CERT_LIFETIME": "5s"])
        do {
            let client = setup.hub.client
            let type = try await client.createAgentType(
                CreateAgentTypeRequest(name: "mtls", allowedTags: ["*"], requireClientCertificate: true))
            _ = try await client.createTarget(Target(name: "here", integration: "sh"))
            let workDirectory = setup.directory.file("agent")
            let agent = try AgentHarness(
                hub: setup.hub.url, registrationToken: type.registrationToken, name: "mtls-real-agent",
                workDirectory: workDirectory, arguments: ["--hub-ca", setup.caFile])
            try await agent.waitUntilOnline(client)
            let task = try await client.createTask(
                CreateTaskRequest(target: "here", script: "for i in $(seq 1 12); do echo tick $i; sleep 1; done"))
            // Halfway through, the CA rotates (with the CLI, as an operator would).
            try await Task.sleep(for: .seconds(4))
            let rotate = try ChildProcess(
                ["server", "ca", "rotate", "--hub-ca", setup.caFile],
                environment: ChildProcess.baseEnvironment(["OUTPOST_HUB": setup.hub.url, "OUTPOST_TOKEN": setup.hub.adminToken]))
            #expect(await rotate.waitForExit(timeout: .seconds(30)) == 0, "\(rotate.stderr)")
            #expect(rotate.stdout.contains("previous:"), "\(rotate.stdout)")
            let rotatedAt = setup.hub.process.stderr.count
            var done = try await client.task(id: task.id, waitSeconds: 20)
            for _ in 0..<6 where !done.status.isTerminal { done = try await client.task(id: task.id, waitSeconds: 20) }
            #expect(done.status == .succeeded, "\(done.status): \(done.error ?? "")\n\(agent.process.stderr.suffix(3000))")
            let log = String(decoding: try await client.readLog(taskID: task.id).bytes, as: UTF8.self)
            #expect(log == (1...12).map { "tick \($0)\n" }.joined())
            let issued = setup.hub.process.stderr.components(separatedBy: "issued a client certificate").count - 1
            #expect(issued >= 3, "one at registration and renewals every ~3 s: \(issued)")
            #expect(agent.process.stderr.contains("renewed the client certificate"))
            let afterRotation = String(setup.hub.process.stderr.dropFirst(rotatedAt))
            #expect(afterRotation.contains("issued a client certificate"), "the agent renewed from the new CA and kept working")
            #expect(try await client.listAgents().contains { $0.name == "mtls-real-agent" && $0.status != .offline })
            let attributes = try FileManager.default.attributesOfItem(atPath: workDirectory + "/identity.key")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(!agent.process.stderr.contains("PRIVATE KEY"), "key material is never logged")
            agent.process.signal(SIGTERM)
            _ = await agent.process.waitForExit(timeout: .seconds(20))
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("with --agent-listen only the agents' listener asks for client certificates; an mTLS agent works there, and its calls on the main listener are refused")
    func separateAgentListener() async throws {
        let setup = try await HubTLSTests.Setup(extraArguments: ["--agent-listen", "127.0.0.1:0"])
        do {
            let line = try #require(await setup.hub.process.waitForLine(containing: "listening for agents on https://", timeout: .seconds(10)))
            let agentURL = String(line[try #require(line.range(of: "https://")).lowerBound...]).trimmingCharacters(in: .whitespaces)
            let agentPort = try #require(agentURL.split(separator: ":").last.flatMap { Int($0) })
            #expect(agentPort != setup.port)

            let client = setup.hub.client
            let type = try await client.createAgentType(
                CreateAgentTypeRequest(name: "mtls", allowedTags: ["*"], requireClientCertificate: true))
            let agent = try await Self.registered(setup, token: type.registrationToken, name: "split-agent")

            // The main listener never asks for a certificate, so the agent's is not sent: refused.
            let onMain = try await Self.renew(setup, token: agent.token, key: agent.key, presenting: agent.grant.certificate)
            #expect(onMain.status == 403, "\(onMain.body)")
            #expect(onMain.body.contains("presented none"))
            // The agents' listener asks, and accepts it.
            let onAgents = try await Self.renew(
                setup, port: agentPort, token: agent.token, key: agent.key, presenting: agent.grant.certificate)
            #expect(onAgents.status == 200, "\(onAgents.body)")

            // A real agent pointed at the agents' listener registers and runs a task.
            _ = try await client.createTarget(Target(name: "here", integration: "sh"))
            let real = try AgentHarness(
                hub: agentURL, registrationToken: type.registrationToken, name: "split-real-agent",
                workDirectory: setup.directory.file("agent"), arguments: ["--hub-ca", setup.caFile])
            try await real.waitUntilOnline(client)
            let done = try await HubTLSTests.runToEnd(client, target: "here", script: "echo via-agent-listener")
            #expect(done.status == .succeeded)
            real.process.signal(SIGTERM)
            _ = await real.process.waitForExit(timeout: .seconds(20))
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("an agent CA given by file (agent_ca_cert, agent_ca_key) signs the agents' certificates, and the hub will not rotate it")
    func givenCA() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-given-ca")
        defer { directory.remove() }
        let company = try TestCertificateAuthority(name: "Company Agent CA")
        let certificate = try company.writeCertificate(to: directory.url, name: "agent-ca.crt")
        let key = try company.writeKey(to: directory.url, name: "agent-ca.key")
        let setup = try await HubTLSTests.Setup(environment: [
            "OUTPOST_SERVER_AGENT_CA_CERT": certificate, "OUTPOST_SERVER_AGENT_CA_KEY": key,
        ])
        do {
            let client = setup.hub.client
            let type = try await client.createAgentType(
                CreateAgentTypeRequest(name: "mtls", allowedTags: ["*"], requireClientCertificate: true))
            let agent = try await Self.registered(setup, token: type.registrationToken, name: "company-agent")
            #expect(try TestCertificateInspection(pem: agent.grant.certificate).issuer == company.subject)
            let renewed = try await Self.renew(setup, token: agent.token, key: agent.key, presenting: agent.grant.certificate)
            #expect(renewed.status == 200, "\(renewed.body)")
            do {
                _ = try await client.rotateAgentCA()
                Issue.record("a CA given by file was rotated")
            } catch {
                #expect(error.message.contains("given by file"), "\(error.message)")
            }
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("a CA rotation keeps live agents working: the old certificate stays accepted, renewal moves the agent to the new CA")
    func rotationKeepsAgentsWorking() async throws {
        let setup = try await HubTLSTests.Setup(environment: ["OUTPOST_SERVER_AGENT_CERT_LIFETIME": "60s"])
        do {
            let client = setup.hub.client
            let type = try await client.createAgentType(
                CreateAgentTypeRequest(name: "mtls", allowedTags: ["*"], requireClientCertificate: true))
            let agent = try await Self.registered(setup, token: type.registrationToken, name: "rotating-agent")
            let before = try await client.agentCA()
            #expect(before.previous == nil)

            let after = try await client.rotateAgentCA()
            #expect(after.current.subject != before.current.subject)
            #expect(after.previous?.subject == before.current.subject)
            #expect(try #require(after.previous?.trustedUntil) > Date().addingTimeInterval(55))

            // The certificate from the old CA still works, on a new connection.
            let renewal = try await Self.renew(setup, token: agent.token, key: agent.key, presenting: agent.grant.certificate)
            #expect(renewal.status == 200, "\(renewal.body)")
            let grant = try WireJSON.decoder().decode(ClientCertificateGrant.self, from: Data(renewal.body.utf8))
            #expect(try TestCertificateInspection(pem: grant.certificate).issuer == after.current.subject)
            #expect(grant.caCertificates.components(separatedBy: "BEGIN CERTIFICATE").count == 3, "both CAs are listed")
            // And the new one too.
            let next = try await Self.renew(setup, token: agent.token, key: agent.key, presenting: grant.certificate)
            #expect(next.status == 200, "\(next.body)")
            #expect(setup.hub.process.stderr.contains("rotated the agent CA"))

            // The rotation is on disk: a restarted hub keeps both CAs.
            #expect(FileManager.default.fileExists(atPath: setup.directory.file("hub/ca/previous.crt")))
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }
}
