import Foundation
import OutpostTestSupport
import OutpostTransport
import Testing

/// The classification alone, on chains made here and a clock passed in.
@Suite struct TLSDiagnosisTests {
    private let ca: TestCertificateAuthority
    private let caDER: [UInt8]
    private let caTrust: HubTrust

    init() throws {
        ca = try TestCertificateAuthority(name: "Hub CA")
        caDER = try ca.certificateDER
        caTrust = HubTrust(roots: .caFile(path: "/etc/outpost/hub-ca.pem", certificates: [caDER]))
    }

    private func der(_ credential: TestCredential) throws -> [UInt8] {
        try credential.certificateDER
    }

    @Test func anExpiredLeafIsNamedWithItsEndDateInUTC() throws {
        let end = Date(timeIntervalSince1970: 1_796_112_000)  // 2026-12-01 08:00 UTC
        let leaf = try ca.issue(commonName: "hub.internal", notBefore: end - 86_400, notAfter: end)
        let problem = TLSDiagnosis.diagnose(chain: [try der(leaf)], host: "127.0.0.1", trust: caTrust, now: end + 60)
        #expect(problem == TLSProblem(.expired, "the hub's certificate expired on 2026-12-01 08:00 UTC (CN=hub.internal)"))
    }

    @Test func aCertificateNotValidYetSaysToCheckTheClock() throws {
        let start = Date() + 86_400
        let leaf = try ca.issue(notBefore: start, notAfter: start + 86_400)
        let problem = TLSDiagnosis.diagnose(chain: [try der(leaf)], host: "127.0.0.1", trust: caTrust, now: Date())
        #expect(problem?.kind == .notYetValid)
        #expect(problem?.message.contains("clock") == true)
    }

    @Test(arguments: [
        ("hub.internal", ["hub.internal"], [String](), true),
        ("HUB.internal.", ["hub.internal"], [], true),
        ("a.hub.internal", ["*.hub.internal"], [], true),
        ("a.b.hub.internal", ["*.hub.internal"], [], false),
        ("127.0.0.1", ["localhost"], ["127.0.0.1"], true),
        ("[::1]", [], ["::1"], true),
        ("127.0.0.2", [], ["127.0.0.1"], false),
        ("other.example", ["hub.internal"], ["127.0.0.1"], false),
    ])
    func hostNamesMatchTheSubjectAlternativeNames(host: String, dnsNames: [String], ips: [String], matches: Bool) throws {
        let leaf = try ca.issue(commonName: "hub", dnsNames: dnsNames, ipAddresses: ips)
        let problem = TLSDiagnosis.diagnose(chain: [try der(leaf)], host: host, trust: caTrust, now: Date())
        #expect((problem?.kind == .wrongHost) == !matches)
    }

    @Test func aLeafFromAnIssuerInTheCAFileShowsNoCause() throws {
        let problem = TLSDiagnosis.diagnose(chain: [try der(try ca.issue())], host: "localhost", trust: caTrust, now: Date())
        #expect(problem == nil)
    }

    @Test func anUnknownIssuerIsNamedWithTheCAFile() throws {
        let other = try TestCertificateAuthority(name: "Other CA")
        let leaf = try other.issue()
        let problem = TLSDiagnosis.diagnose(chain: [try der(leaf)], host: "localhost", trust: caTrust, now: Date())
        #expect(problem?.kind == .untrustedIssuer)
        #expect(problem?.message.contains("CN=Other CA") == true)
        #expect(problem?.message.contains("/etc/outpost/hub-ca.pem") == true)
    }

    @Test func aPinOfNoPresentedCertificateNamesTheLeafsHash() throws {
        let leaf = try ca.issue(commonName: "hub.internal")
        let pin = try CertificatePin(String(repeating: "0", count: 64))
        let problem = TLSDiagnosis.diagnose(
            chain: [try der(leaf), caDER], host: "localhost", trust: HubTrust(pin: pin), now: Date())
        #expect(problem?.kind == .pinMismatch)
        #expect(problem?.message.contains(try leaf.sha256) == true)
    }

    @Test(arguments: ["", "abc", String(repeating: "g", count: 64), String(repeating: "a", count: 66)])
    func aPinThatIsNotASHA256IsRefused(text: String) {
        #expect(throws: HubTrustError.self) { try CertificatePin(text) }
    }

    @Test func aCAFileThatIsMissingOrEmptyIsNamed() throws {
        let missing = "/nonexistent/hub-ca-\(UUID().uuidString).pem"
        let error = #expect(throws: HubTrustError.self) { try HubTrust(caFile: missing, pinSHA256: nil) }
        #expect(error?.code == .caFile)
        #expect(error?.message.contains(missing) == true)
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).pem")
        try Data("not a certificate\n".utf8).write(to: empty)
        let emptyError = #expect(throws: HubTrustError.self) { try HubTrust(caFile: empty.path, pinSHA256: nil) }
        #expect(emptyError?.message.contains(empty.path) == true)
    }
}
