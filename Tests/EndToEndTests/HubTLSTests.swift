import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import OutpostTransport
import Testing

/// `outpost server --tls-cert --tls-key`: real handshakes on loopback against a
/// real hub process, with certificates this test makes.
@Suite("Hub over TLS (processes)", .serialized)
struct HubTLSTests {
    /// A CA, a certificate for `localhost`/127.0.0.1 written to `DIR/server.{crt,key}`, and a hub serving it.
    struct Setup {
        let directory: TemporaryDirectory
        let authority: TestCertificateAuthority
        let credential: TestCredential
        let files: (certificate: String, key: String)
        let hub: HubHarness
        let port: Int

        init(extraArguments: [String] = [], environment: [String: String] = [:]) async throws {
            directory = try TemporaryDirectory(prefix: "outpost-tls")
            authority = try TestCertificateAuthority()
            credential = try authority.issue(commonName: "first")
            files = try credential.write(to: directory.url)
            var env = ChildProcess.baseEnvironment()
            env.merge(environment) { $1 }
            hub = try await HubHarness(
                dataDirectory: directory.file("hub"),
                arguments: ["--tls-cert", files.certificate, "--tls-key", files.key] + extraArguments, environment: env)
            port = try #require(hub.url.split(separator: ":").last.flatMap { Int($0) })
            caFile = try authority.writeCertificate(to: directory.url)
            hub.trust = try HubTrust(caFile: caFile, pinSHA256: nil)
        }

        /// The CA's certificate, as agents and users are given it (`--hub-ca`).
        let caFile: String

        func connect() async throws -> TLSTestConnection {
            try await TLSTestConnection(host: "127.0.0.1", port: port, trustPEM: try authority.certificatePEM)
        }

        /// Replaces the certificate and key the way certbot and cert-manager do: new files renamed over the old.
        func install(_ next: TestCredential) throws {
            let staged = try next.write(to: directory.url, name: "staged")
            #expect(rename(staged.key, files.key) == 0)
            #expect(rename(staged.certificate, files.certificate) == 0)
        }

        /// Whether new connections are served `der` within `timeout` (a reload takes effect).
        func serves(_ der: [UInt8], within timeout: Duration) async -> Bool {
            await eventually(timeout: timeout) {
                guard let fresh = try? await connect() else { return false }
                defer { Task { await fresh.close() } }
                return (try? await fresh.peerCertificateDER) == der
            }
        }

        func stop() async {
            await hub.stop()
            directory.remove()
        }
    }

    /// Submits `script` to `target` and waits (up to about two minutes) for the task to end.
    static func runToEnd(_ client: HubClient, target: String, script: String) async throws -> TaskRecord {
        let task = try await client.createTask(CreateTaskRequest(target: target, script: script))
        var done = try await client.task(id: task.id, waitSeconds: 20)
        for _ in 0..<6 where !done.status.isTerminal { done = try await client.task(id: task.id, waitSeconds: 20) }
        return done
    }

    @Test("the hub serves HTTPS with its certificate, TLS 1.3 preferred, and says so")
    func servesHTTPS() async throws {
        let setup = try await Setup()
        do {
            #expect(setup.hub.url.hasPrefix("https://127.0.0.1:"))
            let connection = try await setup.connect()
            let answer = try await connection.get("/healthz")
            #expect(answer.status == 200)
            #expect(try await connection.tlsVersion == "tlsv13")
            #expect(try await connection.peerCertificateDER == (try setup.credential.certificateDER))
            await connection.close()
            // Plain HTTP on the TLS port gets no HTTP answer.
            let socket = try RawSocket(port: setup.port)
            socket.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
            #expect(socket.readResponse(timeout: .seconds(5))?.hasPrefix("HTTP/1.1 200") != true)
            #expect(setup.hub.process.stderr.contains("scheme=https"))
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("a certificate renewed on disk is served to new connections within the reload interval; an open connection keeps working")
    func reloadsWithoutDropping() async throws {
        let setup = try await Setup(environment: ["OUTPOST_SERVER_TLS_RELOAD_INTERVAL": "1s"])
        do {
            let open = try await setup.connect()
            #expect(try await open.get("/healthz").status == 200)

            let renewed = try setup.authority.issue(commonName: "renewed")
            try setup.install(renewed)
            let renewedDER = try renewed.certificateDER
            let served = await setup.serves(renewedDER, within: .seconds(15))
            #expect(served, "new connections get the renewed certificate")
            #expect(setup.hub.process.stderr.contains("reloaded the TLS certificate"))
            #expect(try await open.get("/healthz").status == 200, "the connection opened before the renewal still works")
            await open.close()

        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("an agent and the CLI given --hub-ca work over HTTPS; without it both stop, naming the untrusted issuer")
    func agentAndCLIOverHTTPS() async throws {
        let setup = try await Setup()
        do {
            let client = setup.hub.client
            let registration = try await client.createAgentType(named: "tls-pool", allowedTags: ["*"]).registrationToken
            _ = try await client.createTarget(Target(name: "here", integration: "sh"))
            let agent = try AgentHarness(
                hub: setup.hub.url, registrationToken: registration, name: "tls-agent",
                workDirectory: setup.directory.file("agent"), arguments: ["--hub-ca", setup.caFile])
            try await agent.waitUntilOnline(client)
            let done = try await Self.runToEnd(client, target: "here", script: "echo over-tls")
            #expect(done.status == .succeeded)
            #expect(String(decoding: try await client.readLog(taskID: done.id).bytes, as: UTF8.self) == "over-tls\n")
            agent.process.signal(SIGTERM)
            _ = await agent.process.waitForExit(timeout: .seconds(20))

            let clock = ContinuousClock()
            let started = clock.now
            let untrusting = try AgentHarness(
                hub: setup.hub.url, registrationToken: registration, name: "naive-agent",
                workDirectory: setup.directory.file("naive"))
            let status = await untrusting.process.waitForExit(timeout: .seconds(60))
            #expect(status != nil && status != 0, "an agent that cannot verify the hub stops")
            #expect(untrusting.process.stderr.contains("a CA this client does not trust"), "\(untrusting.process.stderr)")
            #expect(!untrusting.process.stderr.contains(registration), "the token never appears")
            #expect(clock.now - started < .seconds(20), "the cause is told at once, not after retries")

            let env = ChildProcess.baseEnvironment(["OUTPOST_HUB": setup.hub.url, "OUTPOST_TOKEN": setup.hub.adminToken])
            let trusted = try ChildProcess(["target", "list", "--hub-ca", setup.caFile], environment: env)
            #expect(await trusted.waitForExit(timeout: .seconds(30)) == 0, "\(trusted.stderr)")
            #expect(trusted.stdout.contains("here"))
            let naiveStart = clock.now
            let naive = try ChildProcess(["target", "list"], environment: env)
            #expect(await naive.waitForExit(timeout: .seconds(60)) == 1)
            #expect(clock.now - naiveStart < .seconds(20), "the cause is told at once, not after retries")
            #expect(naive.stderr.contains("a CA this client does not trust"), "\(naive.stderr)")
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("the server certificate swapped on disk while an agent is connected: new connections see the new one and the agent keeps working")
    func swapUnderLiveAgent() async throws {
        let setup = try await Setup(environment: ["OUTPOST_SERVER_TLS_RELOAD_INTERVAL": "1s"])
        do {
            let client = setup.hub.client
            let registration = try await client.createAgentType(named: "pool", allowedTags: ["*"]).registrationToken
            _ = try await client.createTarget(Target(name: "here", integration: "sh"))
            let agent = try AgentHarness(
                hub: setup.hub.url, registrationToken: registration, name: "steady-agent",
                workDirectory: setup.directory.file("agent"), arguments: ["--hub-ca", setup.caFile])
            try await agent.waitUntilOnline(client)

            func runTask(_ text: String) async throws -> Bool {
                let done = try await Self.runToEnd(client, target: "here", script: "echo \(text)")
                let log = String(decoding: try await client.readLog(taskID: done.id).bytes, as: UTF8.self)
                return done.status == .succeeded && log == text + "\n"
            }
            #expect(try await runTask("before-swap"))

            let renewed = try setup.authority.issue(commonName: "renewed-under-agent")
            try setup.install(renewed)
            let renewedDER = try renewed.certificateDER
            let served = await setup.serves(renewedDER, within: .seconds(15))
            #expect(served, "new connections get the new certificate")
            #expect(try await runTask("after-swap"), "the agent keeps working across the swap")
            #expect(try await client.listAgents().contains { $0.name == "steady-agent" && $0.status != .offline })
            agent.process.signal(SIGTERM)
            _ = await agent.process.waitForExit(timeout: .seconds(20))
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("SIGHUP re-reads the files at once (the hub here would not look for an hour) and does not stop the hub")
    func hangupReloads() async throws {
        let setup = try await Setup(environment: ["OUTPOST_SERVER_TLS_RELOAD_INTERVAL": "3600s"])
        do {
            let next = try setup.authority.issue(commonName: "next")
            try setup.install(next)
            let nextDER = try next.certificateDER
            let before = try await setup.connect()
            #expect(try await before.peerCertificateDER == (try setup.credential.certificateDER), "no reload without SIGHUP")
            await before.close()
            setup.hub.process.signal(SIGHUP)
            let reloaded = await setup.serves(nextDER, within: .seconds(15))
            #expect(reloaded)
            #expect(setup.hub.process.isRunning)
            #expect(setup.hub.process.stderr.contains("trigger=SIGHUP"))
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("a broken replacement (a key of another certificate) keeps the previous certificate and says why")
    func brokenReloadKeepsServing() async throws {
        let setup = try await Setup(environment: ["OUTPOST_SERVER_TLS_RELOAD_INTERVAL": "1s"])
        do {
            let other = try setup.authority.issue(commonName: "other")
            try Data(other.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: setup.files.key))
            let complained = await eventually(timeout: .seconds(15)) {
                setup.hub.process.stderr.contains("cannot reload the TLS certificate")
            }
            #expect(complained)
            #expect(setup.hub.process.stderr.contains("does not belong to the certificate"))
            let connection = try await setup.connect()
            #expect(try await connection.get("/healthz").status == 200)
            #expect(try await connection.peerCertificateDER == (try setup.credential.certificateDER))
            await connection.close()
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("a missing, unreadable or mismatched certificate or key stops the start with exit 2, naming the file")
    func badFilesExitTwo() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-tls-bad")
        defer { directory.remove() }
        let authority = try TestCertificateAuthority()
        let good = try authority.issue().write(to: directory.url, name: "good")
        let other = try authority.issue().write(to: directory.url, name: "other")
        let garbage = directory.file("garbage.pem")
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let cases: [(arguments: [String], named: String)] = [
            (["--tls-cert", directory.file("missing.crt"), "--tls-key", good.key], "missing.crt: no such file"),
            (["--tls-cert", garbage, "--tls-key", good.key], "garbage.pem"),
            (["--tls-cert", good.certificate, "--tls-key", other.key], "other.key: does not belong to the certificate"),
            (["--tls-cert", good.certificate], "give both"),
        ]
        for (arguments, named) in cases {
            let process = try ChildProcess(
                ["server", "--listen", "127.0.0.1:0", "--data-dir", directory.file("hub")] + arguments)
            let status = await process.waitForExit(timeout: .seconds(20))
            #expect(status == 2, "\(arguments): exit \(String(describing: status)); \(process.stderr)")
            #expect(process.stderr.contains(named), "\(arguments): \(process.stderr)")
        }
    }

    @Test("plain HTTP on a non-loopback address is refused unless --insecure-http says a proxy terminates TLS")
    func plainHTTPOnlyWhereSafe() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-plain")
        defer { directory.remove() }
        let refused = try ChildProcess(["server", "--listen", "0.0.0.0:0", "--data-dir", directory.file("hub")])
        #expect(await refused.waitForExit(timeout: .seconds(20)) == 2)
        #expect(refused.stderr.contains("refusing to serve plain HTTP on 0.0.0.0"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--insecure-http"))

        let allowed = try ChildProcess(
            ["server", "--listen", "0.0.0.0:0", "--data-dir", directory.file("hub"), "--insecure-http"])
        let line = await allowed.waitForLine(containing: "outpost hub listening on http://0.0.0.0:", timeout: .seconds(20))
        #expect(line != nil, "\(allowed.stderr)")
        allowed.signal(SIGTERM)
        _ = await allowed.waitForExit(timeout: .seconds(15))
    }
}
