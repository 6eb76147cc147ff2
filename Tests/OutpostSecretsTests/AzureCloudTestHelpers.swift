import AsyncHTTPClient
import Foundation
import Logging
@testable import OutpostSecrets
import OutpostTestSupport

/// What the Azure and GCP provider tests share: building providers through
/// `ProviderCatalog` from plain option dictionaries, and catching `SecretError`s.
enum CloudTest {
    /// The client the providers get. Unlike `HTTPClient.shared` it does not retry
    /// a refused connection inside AsyncHTTPClient until the request's deadline,
    /// so a closed port fails at once (`ManagedProvider` does the retrying), as
    /// the agent's own client should behave.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A provider context with `http` and the given agent environment.
    static func context(environment: [String: String] = [:]) -> ProviderContext {
        ProviderContext(
            http: http, logger: Logger(label: "cloud-test", factory: { _ in SwiftLogNoOpLogHandler() }),
            environment: environment)
    }

    /// Options as the agent's config file would give them: strings, and nested
    /// dictionaries for sections such as `auth`.
    static func options(_ values: [String: Any], overrides: [String: String] = [:]) -> ProviderOptions {
        func convert(_ value: Any) -> ProviderOptions.Value {
            if let map = value as? [String: Any] { return .map(map.mapValues(convert)) }
            if let list = value as? [Any] { return .list(list.map(convert)) }
            return .string("\(value)")
        }
        let name = values["name"] as? String ?? "cloud"
        return ProviderOptions(
            values: values.mapValues(convert), origins: [:], overrides: overrides, context: "secrets.providers[\(name)]",
            environmentPrefix: "OUTPOST_AGENT_SECRETS_\(name.uppercased())_")
    }

    /// A configured provider through the catalog (option parsing, `ManagedProvider`).
    static func provider(
        _ values: [String: Any], environment: [String: String] = [:]
    ) throws(SecretError) -> ManagedProvider {
        try ProviderCatalog.make(options: options(values), context: context(environment: environment))
    }

    /// The error `body` throws, or `nil` when it succeeds.
    static func failure<T>(_ body: () async throws(SecretError) -> T) async -> SecretError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }

    /// Options written as JSON (parameter tables must be `Sendable`).
    static func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    /// A value that must never show up in an error.
    static func canary() -> String {
        "canary-" + UUID().uuidString.lowercased()
    }

    /// A file under a fresh temporary directory holding `contents`.
    static func file(_ contents: String, name: String = "credential") throws -> (path: String, directory: TemporaryDirectory) {
        let directory = try TemporaryDirectory(prefix: "outpost-cloud")
        let path = directory.file(name)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return (path, directory)
    }
}
