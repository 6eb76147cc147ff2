import Foundation
import Hummingbird
package import Logging
package import OutpostCore
import NIOSSL
import OutpostStore
package import ServiceLifecycle

/// A started hub, ready to run: the store is open and migrated, queued and active
/// work is reloaded, and `services` (store, sweeper, HTTP API) wait to be run in the
/// caller's `ServiceGroup`.
///
/// `outpost server` runs `services`; `outpost dev` also uses `ensureAgentType(named:)`
/// and `ensureTarget(_:)` to set up its local agent and target.
package final class HubRuntime: Sendable {
    package let configuration: HubConfiguration
    /// The admin API token created on first start (no API token existed yet), shown
    /// once; `nil` on later starts. It is also written to `DIR/admin-token` (mode 0600).
    package let firstStartAdminToken: String?
    /// Run these in one `ServiceGroup`, in this order (they stop in reverse: the HTTP
    /// API first, the store last). Put services that talk to the hub (a local agent)
    /// after them so they stop first.
    package let services: [any Service]

    let hub: Hub
    let routes: RouteTable
    let responder: RouterResponder<HubRequestContext>
    private let address = ListeningAddress()
    private let agentAddress = ListeningAddress()

    private init(hub: Hub, listeners: Listeners, firstStartAdminToken: String?) {
        self.hub = hub
        configuration = hub.configuration
        self.firstStartAdminToken = firstStartAdminToken
        routes = RouteTable.all(hub: hub)
        let router = routes.makeRouter(authenticator: hub.authenticator, logger: hub.logger)
        // The web console shares the listener and the error middleware (for "no route").
        Console(hub: hub).register(on: router)
        responder = router.buildResponder()
        var services: [any Service] = [HubStoreService(hub: hub), ClusterService(hub: hub), Sweeper(hub: hub)]
        let contexts = [listeners.main, listeners.agents].compactMap { $0 }
        if !contexts.isEmpty {
            services.append(
                TLSReloadService(listeners: contexts, interval: configuration.tlsReloadInterval, logger: hub.logger))
        }
        let main = HubAddress(host: configuration.host, port: configuration.port)
        services.append(
            HubHTTPService(hub: hub, responder: responder, address: address, tls: listeners.main, bind: main, role: "api"))
        if let agents = configuration.agentListen {
            services.append(
                HubHTTPService(
                    hub: hub, responder: responder, address: agentAddress, tls: listeners.agents, bind: agents,
                    role: "agents"))
        } else {
            agentAddress.resolve(nil)
        }
        self.services = services
    }

    /// The TLS contexts of the listeners: with `--agent-listen`, only the agents'
    /// asks for client certificates (browsers on the main one never see the request).
    struct Listeners {
        var main: ServerTLS?
        var agents: ServerTLS?
    }

    /// Creates the data directory, opens `DIR/outpost.sqlite`, migrates it, creates the
    /// admin token on first start, and reloads queued and active work.
    /// - Throws: `HubError` with code `.startup` naming what failed.
    package static func start(configuration: HubConfiguration, logger: Logger) async throws -> HubRuntime {
        do {
            try configuration.validate()
        } catch {
            throw HubError(.startup, "invalid hub configuration: \(error.message)", underlying: error)
        }
        let directory = URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true)
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw HubError(
                .startup, "cannot create the data directory \(directory.path): \(error.localizedDescription)",
                underlying: error)
        }
        raiseDescriptorLimit(logger: logger)
        let store = try await openStore(configuration, directory: directory, logger: logger)
        // Several replicas share a PostgreSQL store: they talk through it.
        let cluster: (any ClusterChannel)? = (store as? PostgresHubStore).map {
            PostgresClusterChannel(store: $0, notify: configuration.clusterNotify, logger: logger)
        }
        return try await start(
            configuration: configuration, store: store, clock: .system, logger: logger,
            adminTokenFile: directory.appendingPathComponent("admin-token").path, cluster: cluster)
    }

    /// PostgreSQL when configured (checked: reachable, login, grants), else SQLite in the data directory.
    private static func openStore(
        _ configuration: HubConfiguration, directory: URL, logger: Logger
    ) async throws(HubError) -> any HubStore {
        if let database = configuration.database {
            do {
                let store = try await PostgresHubStore.connect(database, logger: logger)
                logger.info("using the shared PostgreSQL store", metadata: ["database": "\(database)", "pool": "\(database.poolSize)"])
                return store
            } catch {
                throw HubError(.startup, "cannot open the database: \(error.message)", underlying: error)
            }
        }
        let databasePath = directory.appendingPathComponent("outpost.sqlite").path
        do {
            return try await SQLiteHubStore.open(path: databasePath, logger: logger)
        } catch {
            throw HubError(.startup, "cannot open the database \(databasePath): \(error.message)", underlying: error)
        }
    }

    /// Every connection holds a descriptor and the usual soft limit (1,024) is far below
    /// what a fleet needs: raise it to the hard limit, and say so.
    private static func raiseDescriptorLimit(logger: Logger) {
        guard let (before, after) = DescriptorLimit.raiseSoftToHard() else {
            logger.warning("could not read or raise the open-file limit (RLIMIT_NOFILE)")
            return
        }
        if after > before {
            logger.info("raised the open-file limit to the hard limit", metadata: ["from": "\(before)", "to": "\(after)"])
        } else {
            logger.info("open-file limit", metadata: ["limit": "\(after)"])
        }
    }

    /// Starts on a given store (tests use an in-memory store and a manual clock).
    /// Closes the store if start-up fails.
    static func start(
        configuration: HubConfiguration, store: any HubStore, clock: HubClock, logger: Logger,
        adminTokenFile: String?, cluster: (any ClusterChannel)? = nil
    ) async throws -> HubRuntime {
        do {
            try await store.migrate()
            let (tls, certificates) = try await loadTLS(configuration, store: store, clock: clock)

            let token = try await bootstrapAdminToken(store: store, clock: clock, file: adminTokenFile)
            let seal = try configuration.clusterKeyFile.map { file throws(HubError) in try UserTokenSeal(keyFile: file) }
            let hub = Hub(
                configuration: configuration, store: store, clock: clock, logger: logger, agentCertificates: certificates,
                cluster: cluster, userTokenSeal: seal)
            try await hub.reload()
            return HubRuntime(hub: hub, listeners: tls, firstStartAdminToken: token)
        } catch let error as HubError {
            await store.shutdown()
            throw error
        } catch {
            await store.shutdown()
            throw HubError(.startup, "cannot start the hub: \(error)", underlying: error)
        }
    }

    /// The certificate and key, when the hub serves HTTPS, and the CA of agents'
    /// client certificates (`DATA_DIR/ca`, made on the first start with TLS).
    private static func loadTLS(
        _ configuration: HubConfiguration, store: any HubStore, clock: HubClock
    ) async throws -> (Listeners, AgentCertificates?) {
        guard let files = configuration.tls else { return (Listeners(), nil) }
        if configuration.database != nil, configuration.agentCAFiles == nil {
            // Several replicas: a CA of each replica's own would sign certificates the others refuse.
            return (try await listenersWithoutAgentCA(configuration, files: files, store: store), nil)
        }
        let authority = try AgentCertificateAuthority(
            directory: configuration.dataDirectory + "/ca", lifetime: configuration.agentCertificateLifetime,
            now: clock.now(), given: configuration.agentCAFiles)
        let requiring = try await store.listAgentTypes().filter(\.requireClientCertificate).map(\.name)
        let roots: @Sendable () -> [NIOSSLCertificate] = { authority.trustRoots(now: clock.now()) }
        let listeners: Listeners
        do {
            if configuration.agentListen != nil {
                listeners = Listeners(main: try ServerTLS(files: files), agents: try ServerTLS(files: files, clientRoots: roots))
            } else {
                listeners = Listeners(main: try ServerTLS(files: files, clientRoots: roots))
            }
        } catch {
            throw HubError(.startup, "cannot use the TLS certificate and key: \(error)", underlying: error)
        }
        let certificates = AgentCertificates(authority: authority, requiringTypes: requiring)
        certificates.onRootsChanged { for tls in [listeners.main, listeners.agents].compactMap({ $0 }) { _ = tls.reload() } }
        return (listeners, certificates)
    }

    /// HTTPS without an agent CA (replicas sharing a database, no `agent_ca_cert`):
    /// mutual TLS is off, so no agent type may need it.
    private static func listenersWithoutAgentCA(
        _ configuration: HubConfiguration, files: ServerCertificate.Files, store: any HubStore
    ) async throws -> Listeners {
        let requiring = try await store.listAgentTypes().filter(\.requireClientCertificate).map(\.name)
        if !requiring.isEmpty {
            throw HubError(
                .startup,
                "agent types \(requiring.joined(separator: ", ")) require client certificates, and replicas that share a "
                    + "database must share one agent CA: give agent_ca_cert and agent_ca_key (the same files on every replica)",
                underlying: ValidationError(field: "agent_ca_cert", message: "required with a shared database"))
        }
        do {
            let main = try ServerTLS(files: files)
            return configuration.agentListen != nil ? Listeners(main: main, agents: try ServerTLS(files: files)) : Listeners(main: main)
        } catch {
            throw HubError(.startup, "cannot use the TLS certificate and key: \(error)", underlying: error)
        }
    }

    /// With `--agent-listen`: once the agents' listener listens, its address (`nil` without one).
    package func agentListeningAddress() async -> HubAddress? {
        await agentAddress.wait()
    }

    /// Returns once the HTTP API listens (its real port when configured with 0), or
    /// `nil` when the HTTP service stopped before it could listen.
    package func listeningAddress() async -> HubAddress? {
        await address.wait()
    }

    /// Creates the agent type, or issues it a new registration token when it exists.
    /// Returns the plain registration token (shown once; the hub keeps its hash).
    /// A type it creates allows every tag: it is `outpost dev`'s one local pool,
    /// whose operator holds the admin token anyway.
    package func ensureAgentType(named name: String) async throws -> String {
        try Names.validateResourceName(name, kind: "agent type")
        if try await hub.store.agentType(named: name) != nil {
            return try await hub.rotateAgentTypeToken(named: name).registrationToken
        }
        do {
            return try await hub.createAgentType(named: name, allowedTags: [TagPattern.any.pattern]).registrationToken
        } catch let error as HubError where error.code == .conflict {
            // Created by someone else in between: rotate instead.
            return try await hub.rotateAgentTypeToken(named: name).registrationToken
        }
    }

    /// Creates the target unless one of that name exists (an existing one is left as it is).
    package func ensureTarget(_ target: Target) async throws {
        try InputValidation.validate(target: target)
        guard try await hub.store.target(named: target.name) == nil else { return }
        var target = target
        target.createdAt = hub.now()
        do {
            try await hub.store.insertTarget(target)
        } catch {
            // Created by someone else in between: fine.
            guard error.code == .conflict else { throw error }
        }
    }

    /// Creates the first admin token when the store has none: writes it to `file`
    /// (mode 0600) *before* storing its hash, so a stored hash always has its token
    /// on disk.
    private static func bootstrapAdminToken(store: any HubStore, clock: HubClock, file: String?) async throws
        -> String?
    {
        guard try await store.countAPITokens() == 0 else { return nil }
        let token = Identifiers.token(prefix: TokenKind.admin.rawValue)
        if let file {
            try AdminTokenFile.create(token: token, at: file)
        }
        do {
            try await store.insertAPIToken(
                APITokenRow(
                    id: Identifiers.make(prefix: "tok"), name: "admin", hash: TokenHasher.hash(token), role: "admin",
                    createdAt: clock.now()))
        } catch where error.code == .conflict {
            // Another replica of a shared database made the first token in between: its file holds it.
            if let file { try? FileManager.default.removeItem(atPath: file) }
            return nil
        }
        return token
    }
}
