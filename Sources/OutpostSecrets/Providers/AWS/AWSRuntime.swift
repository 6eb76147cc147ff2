/// What the provider needs to call Secrets Manager, which depends on the
/// region: built at once when the options, the environment or the profile name
/// the region, otherwise on first use from the region IMDS gives (and kept).
final class AWSRuntime: Sendable {
    struct Parts: Sendable {
        var client: AWSClient
        var chain: AWSCredentialChain
        /// The Secrets Manager endpoint.
        var endpoint: String
    }

    private let ready: Parts?
    private let lookup: Lookup?

    init(ready: Parts) {
        self.ready = ready
        lookup = nil
    }

    /// - Parameters:
    ///   - tried: where the region was looked for before IMDS (for the error).
    ///   - build: the parts for a region.
    init(tried: [String], imds: AWSInstanceMetadataSource, build: @escaping @Sendable (String) -> Parts) {
        ready = nil
        lookup = Lookup(tried: tried, imds: imds, build: build)
    }

    /// The parts, once they are known without a network call (for tests).
    var readyParts: Parts? { ready }

    /// The parts; the first call without a configured region asks IMDS.
    /// - Throws: `.invalidConfiguration` "no AWS region: ..." when IMDS has none (asked again next time).
    func parts() async throws(SecretError) -> Parts {
        if let ready { return ready }
        return try await lookup!.parts()
    }

    private actor Lookup {
        let tried: [String]
        let imds: AWSInstanceMetadataSource
        let build: @Sendable (String) -> Parts
        private var parts: Parts?

        init(tried: [String], imds: AWSInstanceMetadataSource, build: @escaping @Sendable (String) -> Parts) {
            self.tried = tried
            self.imds = imds
            self.build = build
        }

        func parts() async throws(SecretError) -> Parts {
            if let parts { return parts }
            switch await imds.region() {
            case .success(let region):
                guard AWSSecretsManagerProvider.Configuration.isRegionName(region) else {
                    throw SecretError(.invalidConfiguration, "IMDS answered a region that is not a region name")
                }
                if let parts { return parts }
                let built = build(region)
                parts = built
                return built
            case .failure(let error):
                throw SecretError(
                    .invalidConfiguration,
                    "no AWS region: set region, or AWS_REGION; looked in \(tried.joined(separator: ", ")) and IMDS "
                        + "(\(error.detail))")
            }
        }
    }
}
