import Crypto
import Foundation
import Logging
@testable import OutpostAgent
import OutpostClient
import OutpostCore
import OutpostTestSupport
import SwiftASN1
import Testing
import X509

/// The renewer on a manual clock against a hub that signs real certificates.
@Suite("Certificate renewer")
struct CertificateRenewerTests {
    struct Setup {
        let hub: CertificateHub
        let clock = ManualClock()
        let control = DaemonControl()
        let key: AgentKey
        let renewer: CertificateRenewer

        init() throws {
            let clock = clock
            hub = CertificateHub(authority: try TestCertificateAuthority(), wallClock: { clock.date })
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("renewer-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            key = try AgentKey.loadOrCreate(path: directory.appendingPathComponent("identity.key").path)
            renewer = CertificateRenewer(
                hub: hub, key: key, commonName: "build-7", clock: clock, control: control,
                credentials: SessionCredentials(token: "agent-token-1"),
                backoff: Backoff(initial: .milliseconds(500), maximum: .seconds(2)), logger: Logger(label: "test"),
                wallClock: { clock.date })
        }

        /// Registers as the session loop does, with a certificate of the hub's lifetime.
        func register() throws {
            control.registered(certificate: try hub.grant(for: key.certificateSigningRequest(commonName: "build-7")))
        }

        func waitFor(_ predicate: @escaping @Sendable (CertificateHub.State) -> Bool) async -> Bool {
            await hub.state.wait(until: predicate, deadline: SystemAgentClock().now() + .seconds(10), clock: SystemAgentClock())
        }
    }

    /// Runs `body` while the renewer runs, then stops it as the session loop's end does.
    func withRenewer(_ setup: Setup, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await setup.renewer.run() }
            try await body()
            group.cancelAll()
        }
    }

    @Test("at renew_after it renews with a CSR for the same key and switches to the new certificate")
    func renewsAtRenewAfter() async throws {
        let setup = try Setup()
        try await withRenewer(setup) {
            try setup.register()
            await setup.clock.waitForSleepers()
            setup.clock.advance(by: .seconds(3))
            await setup.clock.waitForSleepers()
            #expect(setup.hub.state.value.renewalCSRs.isEmpty, "renewed before renew_after")
            setup.clock.advance(by: .milliseconds(400))
            #expect(await setup.waitFor { !$0.identities.isEmpty })
            let state = setup.hub.state.value
            let csr = try CertificateSigningRequest(pemEncoded: try #require(state.renewalCSRs.first))
            #expect(csr.publicKey == Certificate.PublicKey(setup.key.privateKey.publicKey))
            let presented = try Certificate(derEncoded: try #require(state.identities.first ?? nil))
            #expect(presented.publicKey == Certificate.PublicKey(setup.key.privateKey.publicKey))
            #expect(setup.control.state.value.certificateLapses == 0)
            // And the next one is scheduled from the new certificate.
            await setup.clock.waitForSleepers()
            setup.clock.advance(by: .seconds(3.4))
            #expect(await setup.waitFor { $0.identities.count == 2 })
        }
    }

    @Test("a failed renewal is retried with backoff, then succeeds")
    func retries() async throws {
        let setup = try Setup()
        setup.hub.state.update { $0.renewalFailures = [ClientError(.unreachable, "connection refused")] }
        try await withRenewer(setup) {
            try setup.register()
            await setup.clock.waitForSleepers()
            setup.clock.advance(by: .seconds(3.4))
            #expect(await setup.waitFor { $0.renewalCSRs.count == 1 })
            await setup.clock.waitForSleepers()
            #expect(setup.hub.state.value.identities.isEmpty)
            setup.clock.advance(by: .milliseconds(500))
            #expect(await setup.waitFor { $0.identities.count == 1 })
            #expect(setup.hub.state.value.renewalCSRs.count == 2)
            #expect(setup.control.state.value.certificateLapses == 0)
        }
    }

    @Test("a certificate the hub refuses is given up: the session registers again")
    func refusedLapses() async throws {
        let setup = try Setup()
        setup.hub.state.update {
            $0.alwaysFail = ClientError(.http(status: 403, code: .clientCertificateRequired), "present a client certificate")
        }
        try await withRenewer(setup) {
            try setup.register()
            await setup.clock.waitForSleepers()
            setup.clock.advance(by: .seconds(3.4))
            #expect(await setup.control.state.wait(
                until: { $0.certificateLapses == 1 }, deadline: SystemAgentClock().now() + .seconds(10), clock: SystemAgentClock()))
            #expect(setup.hub.state.value.renewalCSRs.count == 1)
        }
    }

    @Test("a certificate that expires while the hub is unreachable is given up: the session registers again")
    func expiryLapses() async throws {
        let setup = try Setup()
        setup.hub.state.update { $0.alwaysFail = ClientError(.unreachable, "connection refused") }
        try await withRenewer(setup) {
            try setup.register()
            await setup.clock.waitForSleepers()
            setup.clock.advance(by: .seconds(3.4))
            #expect(await setup.waitFor { $0.renewalCSRs.count == 1 })
            // The retry is due before the expiry (at 5 s); the clock passes both.
            await setup.clock.waitForSleepers()
            #expect(setup.control.state.value.certificateLapses == 0)
            setup.clock.advance(by: .seconds(2))
            #expect(await setup.control.state.wait(
                until: { $0.certificateLapses == 1 }, deadline: SystemAgentClock().now() + .seconds(10), clock: SystemAgentClock()))
            #expect(setup.hub.state.value.identities.isEmpty)
        }
    }
}
