import ArgumentParser
import Foundation
import OutpostClient

/// `--hub` and `--token`, shared by every client command; they default to
/// `OUTPOST_HUB` and `OUTPOST_TOKEN`.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("URL of the hub (default: $OUTPOST_HUB, then http://127.0.0.1:8080).", valueName: "url"))
    var hub: String?

    @Option(name: .long, help: ArgumentHelp("API token (default: $OUTPOST_TOKEN).", valueName: "token"))
    var token: String?

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
        return HubClient(baseURL: url, token: token)
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
