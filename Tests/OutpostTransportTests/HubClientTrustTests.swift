import Foundation
import NIOCore
import OutpostClient
import OutpostTestSupport
import OutpostTransport
import Testing

/// `HubClient` against a real HTTPS server on loopback, with certificates made here:
/// each refusal must come back typed, with a message naming the cause and never the token.
@Suite struct HubClientTrustTests {
    private let token = "op_test_secret_token_value"

    private func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hub-trust-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Serves `credential` (and `chain`), runs `GET /healthz` with `trust`; returns the error, if any.
    private func health(
        serving credential: TestCredential, chain: [String] = [], trust: HubTrust
    ) async throws -> (error: ClientError?, requests: Int) {
        let server = try await TestTLSServer(credential: credential, chain: chain)
        let client = HubClient(baseURL: server.url, token: token, trust: trust, requestTimeout: .seconds(10))
        var failure: ClientError?
        do { try await client.health() } catch { failure = error }
        let requests = server.requestCount
        await server.stop()
        if let failure { #expect(!failure.message.contains(token)) }
        return (failure, requests)
    }

    @Test func aHubCertificateIssuedByTheCAOfHubCAIsTrusted() async throws {
        let ca = try TestCertificateAuthority(name: "Hub CA")
        let caFile = try ca.writeCertificate(to: try directory())
        let result = try await health(serving: try ca.issue(), trust: try HubTrust(caFile: caFile, pinSHA256: nil))
        #expect(result.error == nil)
        #expect(result.requests == 1)
    }

    @Test func aCertificateFromAnotherCAIsRefusedNamingItsIssuer() async throws {
        let hubCA = try TestCertificateAuthority(name: "Hub CA")
        let otherCA = try TestCertificateAuthority(name: "Unrelated CA")
        let caFile = try otherCA.writeCertificate(to: try directory())
        let result = try await health(serving: try hubCA.issue(), trust: try HubTrust(caFile: caFile, pinSHA256: nil))
        let error = try #require(result.error)
        #expect(error.code == .tls(.untrustedIssuer))
        #expect(error.message.contains("CN=Hub CA"))
        #expect(error.message.contains("--hub-ca"))
        #expect(result.requests == 0)
    }

    @Test func anExpiredCertificateIsRefusedSayingWhenItExpired() async throws {
        let ca = try TestCertificateAuthority(name: "Hub CA")
        let caFile = try ca.writeCertificate(to: try directory())
        let end = Date() - 86_400
        let leaf = try ca.issue(commonName: "hub.internal", notBefore: end - 86_400, notAfter: end)
        let result = try await health(serving: leaf, trust: try HubTrust(caFile: caFile, pinSHA256: nil))
        let error = try #require(result.error)
        #expect(error.code == .tls(.expired))
        #expect(error.message.contains("expired on"))
        #expect(error.message.contains("CN=hub.internal"))
    }

    @Test func aCertificateForOtherNamesIsRefusedListingThem() async throws {
        let ca = try TestCertificateAuthority(name: "Hub CA")
        let caFile = try ca.writeCertificate(to: try directory())
        let leaf = try ca.issue(commonName: "other.example", dnsNames: ["other.example"], ipAddresses: [])
        let result = try await health(serving: leaf, trust: try HubTrust(caFile: caFile, pinSHA256: nil))
        let error = try #require(result.error)
        #expect(error.code == .tls(.wrongHost))
        #expect(error.message.contains("DNS:other.example"))
        #expect(error.message.contains("127.0.0.1"))
    }

    @Test func aPinOfTheHubsCACertificateMakesItTheOnlyRoot() async throws {
        let ca = try TestCertificateAuthority(name: "Hub CA")
        let caDER = try ca.certificateDER
        // As `openssl x509 -fingerprint -sha256` prints it: upper case, with colons.
        let fingerprint = CertificatePin.fingerprint(of: caDER).uppercased()
        let openSSLStyle = stride(from: 0, to: fingerprint.count, by: 2).map {
            String(fingerprint.dropFirst($0).prefix(2))
        }.joined(separator: ":")
        let result = try await health(
            serving: try ca.issue(), chain: [try ca.certificatePEM], trust: try HubTrust(caFile: nil, pinSHA256: openSSLStyle))
        #expect(result.error == nil)
        #expect(result.requests == 1)
    }

    @Test func aPinThatNamesNoPresentedCertificateIsRefusedBeforeAnyRequest() async throws {
        let ca = try TestCertificateAuthority(name: "Hub CA")
        let leaf = try ca.issue(commonName: "hub.internal")
        let result = try await health(
            serving: leaf, chain: [try ca.certificatePEM],
            trust: try HubTrust(caFile: nil, pinSHA256: String(repeating: "ab", count: 32)))
        let error = try #require(result.error)
        #expect(error.code == .tls(.pinMismatch))
        #expect(error.message.contains(try leaf.sha256))
        #expect(error.message.contains("CN=hub.internal"))
        #expect(result.requests == 0)
    }

    @Test func plainHTTPToAnotherHostIsRefusedBeforeAnyConnection() async throws {
        let client = HubClient(baseURL: "http://10.255.255.1:1", token: token)
        let started = ContinuousClock.now
        let error = await #expect(throws: ClientError.self) { try await client.health() }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains("--insecure-http") == true)
        #expect(error?.message.contains(token) == false)
        // Nothing answers at 10.255.255.1: an attempt would hang until a timeout.
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func insecureHTTPLetsPlainHTTPGoToAnotherHost() async throws {
        let client = HubClient(
            baseURL: "http://10.255.255.1:1", token: token, insecureHTTP: true, requestTimeout: .milliseconds(300))
        // Whatever answers there (nothing, or a network's interceptor), the call went out.
        do {
            try await client.health()
        } catch {
            #expect(error.code != .invalidRequest, "\(error)")
        }
    }
}
