import Foundation
import HTTPTypes
import Hummingbird
import OutpostCore
import OutpostStore

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.yaml`: open, no API token (`/metrics`
/// takes its own bearer token when the operator sets one).
extension RouteTable {
    mutating func addRootRoutes(hub: Hub) {
        add(.get, "/healthz", auth: .none) { _, _ in
            try .json(["status": "ok"])
        }

        add(.get, "/readyz", auth: .none) { _, _ in
            guard hub.isReady else {
                throw HubError(
                    .notReady, hub.isShuttingDown ? "the hub is shutting down" : "the hub is not listening yet")
            }
            guard await hub.storeProbe.answers() else {
                throw HubError(.notReady, "the database does not answer")
            }
            return try .json(["status": "ready"])
        }

        // Gauges are computed from one dispatcher snapshot per computation (docs/autoscaling.md);
        // a body is served again for `metricsSnapshotInterval` so many scrapers cost one.
        add(.get, "/metrics", auth: .none) { request, _ in
            if let token = hub.configuration.metricsToken, !token.accepts(authorization: request.headers[.authorization]) {
                throw HubError(.unauthorized, "/metrics takes the metrics bearer token (metrics_token_file)")
            }
            let text = try await hub.metricsCache.body(
                now: hub.now(), interval: hub.configuration.metricsSnapshotInterval.seconds
            ) {
                let fleet = await hub.dispatcher.fleetSnapshot()
                let offline = try await hub.store.listAgents(includeOffline: true).count { $0.status == .offline }
                return hub.metrics.exposition(
                    fleet: fleet, offlineAgents: offline, notifyStatements: hub.cluster.notifyStatementCount,
                    now: hub.now())
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }

        add(.get, "/openapi.yaml", auth: .none) { _, _ in
            guard let document = OpenAPIDocument.text else {
                throw HubError(.internal, "the OpenAPI document is missing from the hub's resources")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/yaml; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: document)))
        }
    }

    /// Every route of the hub.
    static func all(hub: Hub) -> RouteTable {
        var table = RouteTable()
        table.addRootRoutes(hub: hub)
        table.addTargetRoutes(hub: hub)
        table.addTaskRoutes(hub: hub)
        table.addTaskLogRoutes(hub: hub)
        table.addAdminRoutes(hub: hub)
        table.addSecretListingRoutes(hub: hub)
        table.addAgentProtocolRoutes(hub: hub)
        table.addTokenRoutes(hub: hub)
        return table
    }
}

/// The bundled `openapi.yaml`, read once.
enum OpenAPIDocument {
    static let text: String? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else { return nil }
        return try? String(contentsOf: url, encoding: .utf8)
    }()
}
