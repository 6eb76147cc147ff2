import Foundation
import HTTPTypes
import OutpostCore
import OutpostStore
import OutpostTestSupport
import Testing

@testable import OutpostHub

@Suite("Metrics")
struct MetricsTests {
    /// Every family `/metrics` promises, with its type.
    static let families: [(String, String)] = [
        ("outpost_tasks", "gauge"), ("outpost_tasks_finished_total", "counter"), ("outpost_agents", "gauge"),
        ("outpost_queued_tasks", "gauge"), ("outpost_polls_waiting", "gauge"),
        ("outpost_queued_tasks_by_tags", "gauge"), ("outpost_oldest_queued_task_age_seconds", "gauge"),
        ("outpost_running_tasks", "gauge"), ("outpost_agents_by_type", "gauge"), ("outpost_agent_slots", "gauge"),
        ("outpost_dispatch_latency_seconds", "histogram"), ("outpost_cluster_notify_statements_total", "counter"),
    ]

    static let prod = ["agent_type": "prod", "tags": "env=prod,region=eu"]
    static let dev = ["agent_type": "dev", "tags": "env=dev"]

    @Test("a scrape of an empty hub lists every family with its HELP and TYPE")
    func emptyHub() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let reply = try await api.send(.get, "/metrics", token: .none)
                #expect(reply.status == .ok)
                #expect(reply.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
                let metrics = try Exposition(reply.text)
                for (name, type) in Self.families {
                    #expect(metrics.types[name] == type, "TYPE of \(name)")
                    #expect(metrics.help[name]?.isEmpty == false, "HELP of \(name)")
                }
                #expect(metrics.value("outpost_queued_tasks") == 0)
                #expect(metrics.value("outpost_tasks_finished_total", ["status": "succeeded"]) == 0)
                #expect(metrics.samples(named: "outpost_queued_tasks_by_tags").isEmpty)
                #expect(metrics.samples(named: "outpost_agents_by_type").isEmpty)
                #expect(metrics.samples(named: "outpost_dispatch_latency_seconds_count").isEmpty)
                #expect(metrics.value("outpost_cluster_notify_statements_total") == 0, "a hub alone notifies nobody")
            }
        }
    }

    @Test("queued, running, agent, slot and latency series per agent type and tag set")
    func fleetSeries() async throws {
        try await TestHub.with(configure: {
            $0.pollTimeout = .milliseconds(100)
            // These tests scrape after each step without moving the clock a second.
            $0.metricsSnapshotInterval = .zero
        }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "prod-db", tags: ["env=prod"])
                try await hub.createTarget(api, name: "dev-db", tags: ["env=dev"])
                try await hub.createTarget(api, name: "local")
                let prodToken = try await hub.registrationToken(type: "prod")
                let devToken = try await hub.registrationToken(type: "dev")
                let prodA = try await SimAgent.register(
                    api, registrationToken: prodToken, tags: ["env=prod", "region=eu"], concurrency: 2)
                _ = try await SimAgent.register(api, registrationToken: prodToken, tags: ["region=eu", "env=prod"])
                let devA = try await SimAgent.register(api, registrationToken: devToken, tags: ["env=dev"], concurrency: 2)

                // Three prod tasks at t0; one dev and two untagged 30 s later (no agent takes untagged work).
                var prodTasks: [TaskRecord] = []
                for _ in 0..<3 { prodTasks.append(try await hub.createTask(api, target: "prod-db")) }
                hub.clock.advance(by: 30)
                _ = try await hub.createTask(api, target: "dev-db")
                _ = try await hub.createTask(api, target: "local")
                _ = try await hub.createTask(api, target: "local")
                hub.clock.advance(by: 15)

                var metrics = try await scrape(api)
                #expect(metrics.value("outpost_queued_tasks") == 6)
                #expect(metrics.value("outpost_queued_tasks_by_tags", ["tags": "env=prod"]) == 3)
                #expect(metrics.value("outpost_queued_tasks_by_tags", ["tags": "env=dev"]) == 1)
                #expect(metrics.value("outpost_queued_tasks_by_tags", ["tags": ""]) == 2)
                #expect(metrics.value("outpost_oldest_queued_task_age_seconds", ["tags": "env=prod"]) == 45)
                #expect(metrics.value("outpost_oldest_queued_task_age_seconds", ["tags": "env=dev"]) == 15)
                #expect(metrics.value("outpost_oldest_queued_task_age_seconds", ["tags": ""]) == 15)
                // Registered, nothing assigned yet: every agent is online and idle.
                #expect(metrics.value("outpost_agents_by_type", Self.prod.with("state", "idle")) == 2)
                #expect(metrics.value("outpost_agents_by_type", Self.dev.with("state", "idle")) == 1)
                #expect(metrics.value("outpost_agent_slots", Self.prod.with("kind", "free")) == 3)
                #expect(metrics.samples(named: "outpost_dispatch_latency_seconds_count").isEmpty)

                // prod-a takes two prod tasks, dev-a the dev task; prod-b stays idle.
                let prodClaims = try await prodA.poll(api, freeSlots: 2).assignments.map(\.taskID)
                #expect(prodClaims == prodTasks.prefix(2).map(\.id))
                let devClaims = try await devA.poll(api, freeSlots: 2).assignments.map(\.taskID)
                #expect(devClaims.count == 1)
                #expect(try await prodA.start(api, try #require(prodClaims.first)).status == .ok)

                metrics = try await scrape(api)
                #expect(metrics.value("outpost_queued_tasks_by_tags", ["tags": "env=prod"]) == 1)
                #expect(metrics.value("outpost_queued_tasks_by_tags", ["tags": "env=dev"]) == 0)
                #expect(metrics.value("outpost_oldest_queued_task_age_seconds", ["tags": "env=prod"]) == 45)
                #expect(metrics.value("outpost_oldest_queued_task_age_seconds", ["tags": "env=dev"]) == 0)
                #expect(metrics.value("outpost_tasks", ["status": "assigned"]) == 2)
                #expect(metrics.value("outpost_tasks", ["status": "running"]) == 1)
                #expect(metrics.value("outpost_running_tasks", Self.prod) == 2)
                #expect(metrics.value("outpost_running_tasks", Self.dev) == 1)
                // prod-a: both slots taken (busy); prod-b: free and idle.
                #expect(metrics.value("outpost_agents_by_type", Self.prod.with("state", "online")) == 1)
                #expect(metrics.value("outpost_agents_by_type", Self.prod.with("state", "busy")) == 1)
                #expect(metrics.value("outpost_agents_by_type", Self.prod.with("state", "idle")) == 1)
                #expect(metrics.value("outpost_agents_by_type", Self.prod.with("state", "draining")) == 0)
                #expect(metrics.value("outpost_agent_slots", Self.prod.with("kind", "total")) == 3)
                #expect(metrics.value("outpost_agent_slots", Self.prod.with("kind", "free")) == 1)
                // dev-a: one of two slots taken: online, not idle.
                #expect(metrics.value("outpost_agents_by_type", Self.dev.with("state", "online")) == 1)
                #expect(metrics.value("outpost_agents_by_type", Self.dev.with("state", "idle")) == 0)
                #expect(metrics.value("outpost_agent_slots", Self.dev.with("kind", "free")) == 1)
                #expect(metrics.value("outpost_agents", ["status": "busy"]) == 1)
                // Claimed 45 s (prod) and 15 s (dev) after being queued.
                let prodLatency = ["tags": "env=prod"]
                #expect(metrics.value("outpost_dispatch_latency_seconds_count", prodLatency) == 2)
                #expect(metrics.value("outpost_dispatch_latency_seconds_sum", prodLatency) == 90)
                #expect(metrics.value("outpost_dispatch_latency_seconds_bucket", prodLatency.with("le", "30.0")) == 0)
                #expect(metrics.value("outpost_dispatch_latency_seconds_bucket", prodLatency.with("le", "60.0")) == 2)
                #expect(metrics.value("outpost_dispatch_latency_seconds_bucket", prodLatency.with("le", "+Inf")) == 2)
                #expect(metrics.value("outpost_dispatch_latency_seconds_count", ["tags": "env=dev"]) == 1)

                // dev-a drains: it counts as draining, with no free slot, still holding its task.
                _ = try await devA.poll(api, running: devClaims, freeSlots: 1, draining: true)
                metrics = try await scrape(api)
                #expect(metrics.value("outpost_agents_by_type", Self.dev.with("state", "draining")) == 1)
                #expect(metrics.value("outpost_agents_by_type", Self.dev.with("state", "online")) == 0)
                #expect(metrics.value("outpost_agent_slots", Self.dev.with("kind", "free")) == 0)
                #expect(metrics.value("outpost_running_tasks", Self.dev) == 1)
                #expect(metrics.value("outpost_agents", ["status": "draining"]) == 1)
            }
        }
    }

    @Test("a tag set whose queue emptied reports zero until the retention passes, then goes")
    func emptiedSeriesRetention() async throws {
        try await TestHub.with(configure: {
            $0.pollTimeout = .milliseconds(100)
            // These tests scrape after each step without moving the clock a second.
            $0.metricsSnapshotInterval = .zero
        }) { hub in
            try await hub.withAPI { api in
                try await hub.createTarget(api, name: "dev-db", tags: ["env=dev"])
                let task = try await hub.createTask(api, target: "dev-db")
                #expect(try await scrape(api).value("outpost_queued_tasks_by_tags", ["tags": "env=dev"]) == 1)
                #expect(try await api.send(.post, "/api/v1/tasks/\(task.id)/cancel").status == .ok)

                hub.clock.advance(by: HubMetrics.emptySeriesRetention - 1)
                var metrics = try await scrape(api)
                #expect(metrics.value("outpost_queued_tasks_by_tags", ["tags": "env=dev"]) == 0)
                #expect(metrics.value("outpost_oldest_queued_task_age_seconds", ["tags": "env=dev"]) == 0)
                hub.clock.advance(by: 2)
                metrics = try await scrape(api)
                #expect(metrics.samples(named: "outpost_queued_tasks_by_tags").isEmpty)
                #expect(metrics.types["outpost_queued_tasks_by_tags"] == "gauge")
            }
        }
    }

    @Test("label values with quotes, backslashes and line breaks stay inside their label")
    func labelEscaping() throws {
        let oddTags = TagSet(["quote\"d", #"back\slash"#, "line\nbreak", "a,b={}"])
        let oddType = "type \"x\"\\\n"
        let pool = FleetSnapshot.Pool(agentType: oddType, tags: oddTags)
        var counts = FleetSnapshot.PoolCounts()
        counts.add(concurrency: 4, reportedFreeSlots: 4, activeTasks: 1, draining: false)
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let fleet = FleetSnapshot(
            queuedTasks: 2, lanes: [oddTags: .init(count: 2, oldestQueuedAt: now.addingTimeInterval(-7))],
            pools: [pool: counts])
        let metrics = HubMetrics()
        metrics.observeDispatch(of: QueuedTask(id: "t", tags: oddTags, createdAt: now), claimedAt: now)

        let text = String(decoding: metrics.exposition(fleet: fleet, offlineAgents: 0, notifyStatements: 0, now: now), as: UTF8.self)
        let parsed = try Exposition(text)  // throws on a broken line
        let poolLabels = ["agent_type": oddType, "tags": oddTags.description]
        #expect(parsed.value("outpost_queued_tasks_by_tags", ["tags": oddTags.description]) == 2)
        #expect(parsed.value("outpost_oldest_queued_task_age_seconds", ["tags": oddTags.description]) == 7)
        #expect(parsed.value("outpost_running_tasks", poolLabels) == 1)
        #expect(parsed.value("outpost_agent_slots", poolLabels.with("kind", "free")) == 3)
        #expect(parsed.value("outpost_dispatch_latency_seconds_count", ["tags": oddTags.description]) == 1)
    }

    @Test(
        "an agent's state and free slots follow the documented definitions",
        arguments: [
            // concurrency, reported free, active, draining -> state, idle, free
            (2, 2, 0, false, "online", true, 2),
            (2, 2, 1, false, "online", false, 1),
            (2, 2, 2, false, "busy", false, 0),  // claimed its last slot, before its next poll says so
            (2, 0, 0, false, "busy", false, 0),  // says it is full (running work the hub does not track)
            (1, 1, 0, true, "draining", false, 0),
            (3, 3, 5, false, "busy", false, 0),
        ] as [(Int, Int, Int, Bool, String, Bool, Int)])
    func agentStates(
        concurrency: Int, reported: Int, active: Int, draining: Bool, state: String, idle: Bool, free: Int
    ) {
        var counts = FleetSnapshot.PoolCounts()
        counts.add(concurrency: concurrency, reportedFreeSlots: reported, activeTasks: active, draining: draining)
        let states = ["online": counts.online, "busy": counts.busy, "draining": counts.draining]
        #expect(states.filter { $0.value == 1 }.map(\.key) == [state])
        #expect(counts.connected == 1)
        #expect(counts.idle == (idle ? 1 : 0))
        #expect(counts.freeSlots == free)
        #expect(counts.totalSlots == concurrency)
        #expect(counts.runningTasks == active)
    }

    private func scrape(_ api: API) async throws -> Exposition {
        let reply = try await api.send(.get, "/metrics", token: .none)
        #expect(reply.status == .ok)
        return try Exposition(reply.text)
    }
}

extension Dictionary where Key == String, Value == String {
    fileprivate func with(_ key: String, _ value: String) -> [String: String] {
        var copy = self
        copy[key] = value
        return copy
    }
}
