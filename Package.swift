// swift-tools-version: 6.1
import PackageDescription

#if canImport(Glibc)
import Glibc
#endif

// Upcoming features the model codebases (Hummingbird) turn on; we do likewise.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// The `outpost` executable is linked by lld with packed relative relocations
// (DT_RELR): the loader reads about 70,000 of them at every start, and as 24-byte
// RELA entries they were 2.2 MB of every process's resident memory
// (docs/performance.md, "Footprint"). DT_RELR needs glibc 2.36 or later where the
// binary runs; a machine with an older glibc builds it as before.
let executableLinkerSettings: [LinkerSetting] =
    glibcSupportsPackedRelocations
    ? [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux]))]
    : []

#if canImport(Glibc)
var glibcSupportsPackedRelocations: Bool {
    // "glibc 2.36"
    var text = [CChar](repeating: 0, count: 64)
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &text, text.count) > 0 else { return false }
    let version = String(cString: text).split(separator: " ").last ?? ""
    let parts = version.split(separator: ".").compactMap { Int($0) }
    guard parts.count >= 2 else { return false }
    return (parts[0], parts[1]) >= (2, 36)
}
#else
let glibcSupportsPackedRelocations = false
#endif

let package = Package(
    name: "outpost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "outpost", targets: ["outpost"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.2"),
        // SQLiteNIO brings the C library (module VaporCSQLite) that the direct SQLite connection calls.
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        // The hub's PostgreSQL store (several replicas on one database): the driver, and
        // its SQLKit dialect so the store's queries are written once for both databases.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // NIO's HTTP/1 ⇄ HTTPTypes codec, for the hub's listener that upgrades agent
        // channels (already built for Hummingbird, so it costs no build time).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // X.509 certificates: the hub's CA for agent certificates, and clear TLS errors.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "outpost",
            dependencies: ["OutpostCLI"],
            swiftSettings: swiftSettings,
            linkerSettings: executableLinkerSettings
        ),
        // Benchmarks (not shipped): `scripts/bench` builds and runs it in release mode.
        .executableTarget(
            name: "outpost-bench",
            dependencies: [
                "OutpostMasking", "OutpostCore", "OutpostClient", "OutpostTransport",
                // The signing scenario signs tasks as a client would.
                "OutpostSigning",
                // OutpostStore, PostgresNIO, Logging: the history scenario seeds a stopped hub's database.
                "OutpostStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                // The history scenario's console pages: status codes and headers of plain HTTP calls.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // The replicas scenario makes a database per configuration and reads its statistics.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutpostCLI",
            dependencies: [
                "OutpostCore", "OutpostHub", "OutpostStore", "OutpostAgent", "OutpostClient", "OutpostSecrets",
                "OutpostMasking", "OutpostTransport", "OutpostSigning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutpostHub",
            dependencies: [
                "OutpostCore", "OutpostStore", "OutpostTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                // The HTTP/1 channel the listener's connection limits wrap.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                // Replays agents' signed STS GetCallerIdentity requests (`aws-sts` name policy).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // The agent channel: one WebSocket per agent (`Channel/`).
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // HTTPS: the listener's TLS, and the certificates it serves.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/console")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutpostStore",
            dependencies: [
                "OutpostCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutpostAgent",
            dependencies: [
                "OutpostCore", "OutpostClient", "OutpostSecrets", "OutpostMasking", "OutpostTransport", "OutpostSigning",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutpostSecrets",
            dependencies: [
                "OutpostCore", "OutpostTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // Azure's Service Fabric identity endpoint: one HTTPS request whose server
                // certificate is pinned by thumbprint (AsyncHTTPClient has no such check).
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Signed tasks: the submitter's keys, the signature over a task, and the agent's
        // check of it (pure; the agent's key loading and replay journal do the I/O).
        .target(
            name: "OutpostSigning",
            dependencies: [
                "OutpostCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutpostMasking",
            dependencies: ["COutpostLineScan"],
            swiftSettings: swiftSettings
        ),
        // The masker's search for narrowly wrapped base64 lines, with SSE2 (see LineScan.h).
        .target(name: "COutpostLineScan"),
        .target(
            name: "OutpostClient",
            dependencies: [
                "OutpostCore", "OutpostTransport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // The agent channel's WebSocket client (HubChannel).
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                // The per-request TLS configuration of the hub's trust.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Why an HTTP request got no answer, classified once by error type for the hub
        // client, the secret providers and the hub's STS calls.
        .target(
            name: "OutpostTransport",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // The hub's certificate, read to pin it and to say why a handshake failed.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutpostCore",
            dependencies: [],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutpostTestSupport",
            dependencies: [
                "OutpostCore", "OutpostClient", "OutpostStore",
                // TestPostgres: schemas and databases on the test command's PostgreSQL server.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                // The fakes stop gracefully (a cancelled server traps in NIO if a connection was just accepted).
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                // TestTLSServer: a tiny HTTPS server for the clients' trust tests.
                .product(name: "NIOPosix", package: "swift-nio"),
                // FakeVault's AWS login sends the signed GetCallerIdentity on to STS (moto).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "OutpostCoreTests", dependencies: ["OutpostCore", "OutpostTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "OutpostSigningTests",
            dependencies: [
                "OutpostSigning", "OutpostCore", "OutpostTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutpostTransportTests",
            dependencies: [
                // OutpostClient and OutpostTestSupport: HubClient's TLS trust against a real HTTPS server.
                "OutpostTransport", "OutpostClient", "OutpostCore", "OutpostTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutpostStoreTests",
            dependencies: [
                "OutpostStore", "OutpostCore", "OutpostTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                // EventLoop, for the statement-recording wrapper of a store's database.
                .product(name: "NIOCore", package: "swift-nio"),
                // The connection pool's tests open their own connections.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutpostHubTests",
            dependencies: [
                "OutpostHub", "OutpostStore", "OutpostCore", "OutpostTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutpostAgentTests",
            dependencies: [
                "OutpostAgent", "OutpostSecrets", "OutpostMasking", "OutpostClient", "OutpostCore", "OutpostTestSupport",
                "OutpostTransport", "OutpostSigning",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutpostMaskingTests",
            dependencies: [
                "OutpostMasking", "COutpostLineScan", "OutpostTestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutpostSecretsTests",
            dependencies: [
                // OutpostHub: the hub's STS verifier checks what the agent signs, against moto.
                "OutpostSecrets", "OutpostHub", "OutpostClient", "OutpostCore", "OutpostTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutpostCLITests",
            dependencies: [
                "OutpostCLI", "OutpostAgent", "OutpostCore", "OutpostHub", "OutpostSecrets", "OutpostTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                // OutpostSecrets: AWSAuthProcessTests seeds moto (signature checking on) with its SigV4 client.
                // OutpostSigning: SignedTaskTests signs as a client with a skewed clock would.
                "OutpostClient", "OutpostCore", "OutpostSecrets", "OutpostSigning", "OutpostTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// Fuzzing (not shipped): `scripts/fuzz` sets OUTPOST_FUZZ=1 and builds `outpost-fuzz` into
// its own scratch folder. Outpost's modules are then compiled with libFuzzer's coverage
// instrumentation (dependencies are not), and libFuzzer supplies the harness's `main`.
if Context.environment["OUTPOST_FUZZ"] == "1" {
    let instrumented: Set<String> = ["OutpostCore", "OutpostStore", "OutpostHub"]
    for target in package.targets where instrumented.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=fuzzer"])]
    }
    package.targets.append(.target(name: "OutpostFuzzMain", path: "Fuzz/OutpostFuzzMain"))
    package.targets.append(
        .executableTarget(
            name: "outpost-fuzz",
            dependencies: [
                "OutpostCore", "OutpostHub", "OutpostFuzzMain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Fuzz/outpost-fuzz",
            swiftSettings: swiftSettings + [.unsafeFlags(["-sanitize=fuzzer", "-parse-as-library"])],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer"])]
        ))
}
