import AsyncHTTPClient
import OutpostCore
import Synchronization

/// The hub's `CallerIdentityVerifier`: an `STSCallerIdentityVerifier` whose HTTP
/// client is made on the first `aws-sts` registration (most hubs never need one)
/// and shut down with the hub.
final class LazySTSVerifier: CallerIdentityVerifier {
    private let client = Mutex<HTTPClient?>(nil)

    func verify(_ request: SignedHTTPRequest, rules: AWSNamingRules) async throws(HubError) -> AWSCallerIdentity {
        let http = client.withLock { current in
            if let current { return current }
            let made = STSCallerIdentityVerifier.makeHTTPClient()
            current = made
            return made
        }
        return try await STSCallerIdentityVerifier(client: http).verify(request, rules: rules)
    }

    /// Closes the client if one was made.
    func shutdown() async {
        guard let http = client.withLock({ current -> HTTPClient? in
            defer { current = nil }
            return current
        }) else { return }
        try? await http.shutdown()
    }
}
