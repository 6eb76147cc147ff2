import AsyncHTTPClient
import Foundation
import Logging
import OutpostSecrets
import OutpostTestSupport
import Synchronization
import Testing

/// Helpers shared by the `env`, `vault` and `http` provider tests: building a
/// provider the way the agent does (`ProviderCatalog.make`, so cache, retries
/// and timeout are the real ones), canary values, and a log that can be
/// searched for them.
enum VaultTesting {
    /// A fresh value that must never show up in an error or a log line.
    static func canary(_ label: String = "value") -> String {
        "canary-\(label)-\(UInt64.random(in: 0...UInt64.max))"
    }

    /// Provider options from a literal: strings, nested `[String: Any]` sections.
    static func options(_ values: [String: Any], overrides: [String: String] = [:]) -> ProviderOptions {
        ProviderOptions(
            values: values.mapValues(value), overrides: overrides,
            context: "secrets.providers[\(values["name"] as? String ?? "?")]",
            environmentPrefix: "OUTPOST_AGENT_SECRETS_\((values["name"] as? String ?? "").uppercased())_")
    }

    private static func value(_ any: Any) -> ProviderOptions.Value {
        switch any {
        case let map as [String: Any]: .map(map.mapValues(value))
        case let list as [Any]: .list(list.map(value))
        default: .string("\(any)")
        }
    }

    /// A provider built by `ProviderCatalog.make`, logging into `log`.
    static func make(
        _ values: [String: Any], environment: [String: String] = [:], log: CapturedLog = CapturedLog()
    ) throws(SecretError) -> ManagedProvider {
        let context = ProviderContext(http: http, logger: log.logger, environment: environment)
        return try ProviderCatalog.make(options: options(values), context: context)
    }

    /// The HTTP client the providers get, configured as the agent's should be:
    /// a refused connection fails at once instead of being retried inside
    /// AsyncHTTPClient until the request's deadline (`ManagedProvider` retries).
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The error `body` throws, or `nil` when it succeeds.
    static func error<T>(_ body: () async throws -> T) async -> SecretError? {
        do {
            _ = try await body()
            return nil
        } catch let error as SecretError {
            return error
        } catch {
            Issue.record("expected a SecretError, got \(type(of: error))")
            return nil
        }
    }

    /// Records that no canary occurs in `error`'s text (message, detail and description).
    static func expectClean(_ error: SecretError?, of canaries: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { return }
        let text = error.message + " " + error.detail + " " + String(describing: error)
        for canary in canaries {
            #expect(!text.contains(canary), "an error shows a secret or credential", sourceLocation: sourceLocation)
        }
    }

    /// The text of a payload, for assertions (never printed on failure).
    static func text(_ payload: SecretPayload) -> String {
        switch payload {
        case .text(let text): text
        case .binary(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The key/values of a JSON-object payload.
    static func keys(_ payload: SecretPayload) -> [String: String] {
        let object = (try? JSONSerialization.jsonObject(with: Data(text(payload).utf8))) as? [String: Any] ?? [:]
        return object.compactMapValues { $0 as? String }
    }


    /// A temporary file holding `content`.
    static func file(_ content: String, in directory: TemporaryDirectory, name: String = "credential") throws -> String {
        let path = directory.file(name)
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A self-signed CA certificate (not a secret) for `tls_ca_file`.
    static let testCA = """
        -----BEGIN CERTIFICATE-----
        MIIBijCCATGgAwIBAgIUb7N1aG50w2ayF8qVC2LnQzdA81AwCgYIKoZIzj0EAwIw
        GjEYMBYGA1UEAwwPT3V0cG9zdCBUZXN0IENBMCAXDTI2MTEyMjAzMTE0MloYDzIx
        MjYxMDI5MDMxMTQyWjAaMRgwFgYDVQQDDA9PdXRwb3N0IFRlc3QgQ0EwWTATBgcq
        hkjOPQIBBggqhkjOPQMBBwNCAATf0gU3EcTsDS4qUdya6PBKuV5XSDzvipHaXpSS
        BFTkT/gdBwFUpIfytU/vYo8tZWousWu4TTzzI6mmfSW+yoldo1MwUTAdBgNVHQ4E
        FgQUv0SMeQ+S2ySX00H8T4ehJngJa8MwHwYDVR0jBBgwFoAUv0SMeQ+S2ySX00H8
        T4ehJngJa8MwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiAe8vry
        0Q+1FnKGZGlQCL5s31waihR8JHz8YivhTBUJwwIgPAv4PFMvihl4DEmIX87fOAZC
        q8BmwoizmlIbNpyCi/k=
        -----END CERTIFICATE-----

        """
}

/// Log lines captured in memory, to check that no secret reaches a log.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "test") { _ in CapturingHandler(log: self) }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    struct CapturingHandler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            log.append("\(event.level) \(event.message) \(all.map { "\($0)=\($1)" }.sorted().joined(separator: " "))")
        }
    }
}
