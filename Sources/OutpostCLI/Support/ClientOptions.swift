import ArgumentParser
import Foundation
import OutpostClient
import OutpostTransport

/// `--hub`, `--token` and the hub's TLS trust, shared by every client command; they
/// default to `OUTPOST_HUB`, `OUTPOST_TOKEN`, `OUTPOST_HUB_CA`, `OUTPOST_HUB_CERT_SHA256`
/// and `OUTPOST_INSECURE_HTTP`.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("URL of the hub (default: $OUTPOST_HUB, then http://127.0.0.1:8080).", valueName: "url"))
    var hub: String?

    @Option(name: .long, help: ArgumentHelp("API token (default: $OUTPOST_TOKEN).", valueName: "token"))
    var token: String?

    @OptionGroup var trust: HubTrustOptions

    /// A client for the hub, or a usage error saying how to supply what is missing.
    func makeClient(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HubClient {
        let url = hub ?? environment["OUTPOST_HUB"] ?? "http://127.0.0.1:8080"
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw CLIExit.usage("--hub: \"\(url)\" is not an http:// or https:// URL")
        }
        guard let token = token ?? environment["OUTPOST_TOKEN"], !token.isEmpty else {
            throw CLIExit.usage(
                "no API token: pass --token or set OUTPOST_TOKEN (`outpost dev` prints one; a hub writes its first admin token to DATA_DIR/admin-token)"
            )
        }
        return HubClient(
            baseURL: url, token: token, trust: try Self.trust(caFile: trust.hubCA, pin: trust.hubCertSHA256, environment: environment),
            insecureHTTP: trust.insecureHTTP || environment["OUTPOST_INSECURE_HTTP"] == "1")
    }

    /// `--hub-ca` and `--hub-cert-sha256` (or their variables); a bad one is a usage
    /// error naming the flag or variable it came from.
    static func trust(caFile: String?, pin: String?, environment: [String: String]) throws(CLIExit) -> HubTrust {
        var trust = HubTrust.system
        if let (path, source) = value(caFile, flag: "--hub-ca", variable: "OUTPOST_HUB_CA", environment) {
            do {
                trust = try HubTrust(caFile: path, pinSHA256: nil)
            } catch {
                throw CLIExit.usage("\(source): \(error.message)")
            }
        }
        if let (text, source) = value(pin, flag: "--hub-cert-sha256", variable: "OUTPOST_HUB_CERT_SHA256", environment) {
            do {
                trust.pin = try CertificatePin(text)
            } catch {
                throw CLIExit.usage("\(source): \(error.message)")
            }
        }
        return trust
    }

    /// The flag's value, else the variable's (empty counts as unset), with where it came from.
    private static func value(
        _ flag: String?, flag name: String, variable: String, _ environment: [String: String]
    ) -> (String, String)? {
        if let flag { return (flag, name) }
        if let value = environment[variable], !value.isEmpty { return (value, "environment variable \(variable)") }
        return nil
    }
}

/// Runs an API call and turns a client error into a one-line CLI failure.
func withHub<T>(_ body: () async throws(ClientError) -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        throw CLIExit(code: CLIExit.Code.failure, message: error.message)
    }
}

/// How a client trusts the hub: `--hub-ca`, `--hub-cert-sha256`, `--insecure-http`,
/// shared by the client commands and `outpost agent start` (each reads its own
/// environment variables for them; see docs/configuration.md).
struct HubTrustOptions: ParsableArguments {
    @Option(
        name: .customLong("hub-ca"),
        help: ArgumentHelp(
            "PEM file with the CA certificate(s) that issued the hub's certificate, trusted instead of the system store.",
            valueName: "file"))
    var hubCA: String?

    @Option(
        name: .customLong("hub-cert-sha256"),
        help: ArgumentHelp(
            "Trust only this hub certificate: the SHA-256 of its self-signed certificate or of a CA certificate it sends, as `openssl x509 -noout -fingerprint -sha256 -in hub.crt` prints it.",
            valueName: "hex"))
    var hubCertSHA256: String?

    @Flag(
        name: .customLong("insecure-http"),
        help: "Allow a plain http:// hub URL off this host: tokens then cross the network in clear text.")
    var insecureHTTP = false
}
