import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OutpostClient
import OutpostCore
import OutpostTestSupport

/// What the hub must show once the chaos is over and every task ended: no task
/// counted as queued, assigned or running in its gauges (a task the dispatcher
/// still holds would keep an agent's slot), and every agent online exactly once.
enum ChaosSettledView {
    /// The gauges of unfinished work, which must all come back to zero.
    static let unfinishedWork = ["outpost_tasks", "outpost_queued_tasks", "outpost_running_tasks"]

    /// Waits (with a deadline) for the gauges to read zero; returns what is wrong if they do not.
    static func unfinishedWorkGauges(hub: HubHarness) async -> [String] {
        var last: [String: Double] = [:]
        let settled = await eventually(timeout: .seconds(20), every: .milliseconds(500)) {
            guard let text = try? await metrics(hub) else { return false }
            // A family missing from the answer reads as NaN: never settled.
            last = Dictionary(uniqueKeysWithValues: unfinishedWork.map { ($0, sum(of: $0, in: text) ?? .nan) })
            return last.values.allSatisfy { $0 == 0 }
        }
        if settled { return [] }
        return ["after every task ended, /metrics still counts unfinished work: \(last.sorted { $0.key < $1.key })"]
    }

    /// Waits (with a deadline) until the hub lists exactly these agents online, once each.
    static func agentsOnline(_ names: Set<String>, hub: HubHarness) async -> [String] {
        var last: [String] = []
        let settled = await eventually(timeout: .seconds(40), every: .milliseconds(500)) {
            guard let agents = try? await hub.client.listAgents() else { return false }
            last = agents.map(\.name).sorted()
            return last == names.sorted()
        }
        if settled { return [] }
        return ["once calm, the hub lists these agents online: \(last), expected each of \(names.sorted()) once"]
    }

    /// The sum of every series of `family` on the hub's `/metrics` now.
    static func gauge(_ family: String, hub: HubHarness) async throws -> Double? {
        sum(of: family, in: try await metrics(hub))
    }

    /// Sums every series of `family` in a Prometheus text answer; `nil` if it has none.
    static func sum(of family: String, in text: String) -> Double? {
        var total: Double?
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let name = line.prefix { $0 != "{" && $0 != " " }
            guard name == family, let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            total = (total ?? 0) + value
        }
        return total
    }

    private static func metrics(_ hub: HubHarness) async throws -> String {
        var request = HTTPClientRequest(url: hub.url + "/metrics")
        request.headers.add(name: "Authorization", value: "Bearer \(hub.adminToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { throw HarnessError("GET /metrics answered \(response.status)") }
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
    }
}
