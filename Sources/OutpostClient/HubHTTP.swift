import AsyncHTTPClient
import NIOCore

/// The HTTP client of hub clients: one per process, never shut down (like
/// `HTTPClient.shared`); each request of a client with its own trust (`--hub-ca`,
/// a pin) carries its TLS configuration, so clients with different trust share its
/// pools safely.
enum HubHTTP {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        // A refused certificate will be refused again: fail the request at once, so the
        // caller can say why, instead of retrying until the request's deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
