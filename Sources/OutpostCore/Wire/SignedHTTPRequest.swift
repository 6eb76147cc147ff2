/// An HTTP request an agent signed but does not send: the hub sends it instead,
/// to learn who signed it. Used for the `aws-sts` name policy, where the agent
/// signs `sts:GetCallerIdentity` with its AWS credentials (the pattern of
/// Vault's AWS IAM auth) and the hub replays it to the STS endpoint configured
/// for the agent type — never to the URL the agent names.
package struct SignedHTTPRequest: Codable, Sendable, Equatable {
    package var method: String
    /// The URL the agent signed for; the hub only takes its path and query.
    package var url: String
    /// Every header the agent signed (`Host`, `X-Amz-Date`, `Authorization`, ...),
    /// as name/value pairs in the order signed.
    package var headers: [Header]
    /// The body as sent (UTF-8: STS query bodies are form-encoded text).
    package var body: String

    package struct Header: Codable, Sendable, Equatable {
        package var name: String
        package var value: String

        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    package init(method: String, url: String, headers: [Header], body: String) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}
