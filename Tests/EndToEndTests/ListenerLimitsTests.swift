import Foundation
import OutpostClient
import OutpostCore
import OutpostTestSupport
import Testing

/// The hub's listener against hostile and old-fashioned clients, over real sockets to
/// a real `outpost server`: idle and slow-header floods, connection caps, HTTP/1.0,
/// oversized heads, and long requests that must not be cut.
@Suite("Listener limits", .serialized)
struct ListenerLimitsTests {
    /// Starts a hub with extra environment, runs `body`, always stops it.
    func withHub(
        _ environment: [String: String], arguments: [String] = [],
        _ body: (HubHarness, Int) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-listener")
        defer { directory.remove() }
        let hub = try await HubHarness(
            dataDirectory: directory.file("hub"), arguments: ["--heartbeat-timeout", "60s"] + arguments,
            environment: ChildProcess.baseEnvironment(environment))
        let port = try #require(hub.url.split(separator: ":").last.flatMap { Int($0) })
        do {
            try await body(hub, port)
        } catch {
            await hub.stop()
            throw error
        }
        await hub.stop()
    }

    /// `GET /healthz` on a fresh connection; the status line, or why there is none.
    func healthz(port: Int) async -> String {
        guard let socket = try? await RawSocket.open(port: port) else { return "cannot connect" }
        socket.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
        guard let response = await socket.response(timeout: .seconds(10)) else { return "no answer" }
        return response.components(separatedBy: "\r\n").first ?? ""
    }

    @Test("with thousands of idle and slow-header sockets open, /healthz answers and the hub closes them all")
    func idleAndSlowHeaderFlood() async throws {
        let limit = RawSocket.raiseDescriptorLimit()
        // 10,000 if the test process may open them (and keep room for the rest of the test).
        let idleCount = min(10_000, limit - 1_500)
        let slowCount = 500
        #expect(idleCount >= 1_000, "the open-file limit (\(limit)) is too low for a meaningful flood")
        try await withHub(["OUTPOST_SERVER_HEADER_READ_TIMEOUT": "20s"]) { hub, port in
            let opened = ContinuousClock.now
            // Spread over four peers, like agents behind a few NAT addresses (each under the per-peer cap).
            let idle = try await onOwnThread {
                try (0..<idleCount).map { try RawSocket(port: port, source: "127.0.0.\(2 + $0 % 4)") }
            }
            let slow = try await onOwnThread {
                try (0..<slowCount).map { _ in
                    let socket = try RawSocket(port: port, source: "127.0.0.6")
                    socket.send("GET /healthz HTTP/1.1\r\n")
                    return socket
                }
            }
            let openingTook = ContinuousClock.now - opened
            #expect(openingTook < .seconds(16), "opening the sockets took \(openingTook): the check below is late")

            #expect(await healthz(port: port) == "HTTP/1.1 200 OK", "with \(idleCount + slowCount) sockets open")
            #expect(hub.process.stderr.contains("open-file limit"), "the hub logs its descriptor limit at start")
            let closedEarly = idle.filter { $0.isClosedByPeer }.count
            #expect(closedEarly == 0, "idle sockets are not closed before the header-read timeout")

            // The slow ones keep sending a header line every second; bytes flowing do not save them.
            var line = 0
            while ContinuousClock.now - opened < .seconds(50), !slow.allSatisfy(\.isClosedByPeer) {
                let trickle = line
                await onOwnThread { for socket in slow { socket.send("X-Slow-\(trickle): \(trickle)\r\n") } }
                line += 1
                #expect(await healthz(port: port) == "HTTP/1.1 200 OK")
                try await Task.sleep(for: .seconds(1))  // the trickle's pace, not a synchronisation
            }
            let slowClosed = slow.allSatisfy { $0.isClosedByPeer }
            #expect(slowClosed, "slow-header sockets are closed at the header-read timeout")
            #expect(ContinuousClock.now - opened >= .seconds(19), "and not long before it")
            let idleClosed = await eventually(timeout: .seconds(20), every: .milliseconds(500)) {
                idle.allSatisfy(\.isClosedByPeer)
            }
            #expect(idleClosed, "idle sockets are closed at the header-read timeout")
            #expect(await healthz(port: port) == "HTTP/1.1 200 OK")
            let scrape = try await RawSocket.open(port: port)
            scrape.send("GET /metrics HTTP/1.1\r\nHost: hub\r\n\r\n")
            let metrics = await scrape.response(timeout: .seconds(10)) ?? ""
            #expect(
                metrics.contains(#"outpost_connections_timed_out_total{timeout="header_read"} \#(idleCount + slowCount)"#),
                "\(metrics.suffix(800))")
        }
    }

    @Test("past the per-peer cap a peer gets 503 and is closed, other peers are served, one log line says so")
    func perPeerCap() async throws {
        try await withHub(["OUTPOST_SERVER_MAX_CONNECTIONS_PER_PEER": "20"]) { hub, port in
            var held: [RawSocket] = []
            for _ in 0..<20 { held.append(try await RawSocket.open(port: port, source: "127.0.0.7")) }
            for _ in 0..<30 {
                let refused = try await RawSocket.open(port: port, source: "127.0.0.7")
                let (text, closed) = await refused.untilClosed(timeout: .seconds(10))
                #expect(closed)
                #expect(text.hasPrefix("HTTP/1.1 503"), "\(text)")
                #expect(text.contains(#""code":"too_many_connections""#))
            }
            #expect(await healthz(port: port) == "HTTP/1.1 200 OK", "another peer is still served")
            let scrape = try await RawSocket.open(port: port)
            scrape.send("GET /metrics HTTP/1.1\r\nHost: hub\r\n\r\n")
            let metrics = await scrape.response(timeout: .seconds(10)) ?? ""
            #expect(metrics.contains(#"outpost_connections_refused_total{cap="peer"} 30"#), "\(metrics.suffix(600))")
            let heldClosed = held.filter { $0.isClosedByPeer }.count
            #expect(heldClosed == 0)
            let notices = { hub.process.stderr.components(separatedBy: "connection refused").count - 1 }
            #expect(await eventually { notices() >= 1 }, "a refusal is logged")
            #expect(notices() == 1, "30 refusals within 10 s make one log line, not \(notices())")

            // A place freed is a place taken.
            held.removeLast()
            let admitted = await eventually(timeout: .seconds(10)) {
                guard let socket = try? await RawSocket.open(port: port, source: "127.0.0.7") else { return false }
                socket.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
                return await socket.response(timeout: .seconds(5))?.hasPrefix("HTTP/1.1 200") == true
            }
            #expect(admitted)
        }
    }

    @Test("an HTTP/1.0 request without keep-alive is answered and the connection closed; HTTP/1.1 keeps it")
    func http10Closes() async throws {
        try await withHub([:]) { _, port in
            let old = try await RawSocket.open(port: port)
            old.send("GET /healthz HTTP/1.0\r\n\r\n")
            let (text, closed) = await old.untilClosed(timeout: .seconds(10))
            #expect(closed, "the hub closes the connection after answering HTTP/1.0 (ab waits for that)")
            #expect(text.hasPrefix("HTTP/1.1 200"))
            #expect(text.lowercased().contains("connection: close"))

            let kept = try await RawSocket.open(port: port)
            for _ in 0..<3 {
                kept.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
                #expect(await kept.response(timeout: .seconds(10))?.hasPrefix("HTTP/1.1 200") == true)
            }
            let explicit = try await RawSocket.open(port: port)
            explicit.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(await explicit.response(timeout: .seconds(10))?.hasPrefix("HTTP/1.1 200") == true)
            explicit.send("GET /healthz HTTP/1.0\r\n\r\n")
            let (second, secondClosed) = await explicit.untilClosed(timeout: .seconds(10))
            #expect(second.hasPrefix("HTTP/1.1 200"), "a keep-alive HTTP/1.0 connection takes a second request")
            #expect(secondClosed)

            // Pipelined: both answered in order, then closed because the second asked.
            let pipelined = try await RawSocket.open(port: port)
            pipelined.send(
                "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\nGET /readyz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
            let (both, bothClosed) = await pipelined.untilClosed(timeout: .seconds(10))
            #expect(both.components(separatedBy: "HTTP/1.1 200").count - 1 == 2, "\(both)")
            #expect(both.contains(#"{"status":"ok"}"#) && both.contains(#"{"status":"ready"}"#))
            #expect(bothClosed)
        }
    }

    @Test(
        "an oversized request head gets the API's JSON error and a closed connection, not a reset",
        arguments: [
            ("GET /" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: hub\r\n\r\n", "414", "uri_too_long"),
            ("GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Big: " + String(repeating: "b", count: 100_000) + "\r\n\r\n",
             "431", "headers_too_large"),
            ("GET /healthz HTTP/1.1\r\nHost: hub\r\n" + (0..<1_100).map { "X-H\($0): v\r\n" }.joined() + "\r\n",
             "431", "headers_too_large"),
            ("GET /healthz HTTP/1.1\r\nHo st: hub\r\n\r\n", "400", "invalid_request"),
        ])
    func oversizedHeads(request: String, status: String, code: String) async throws {
        try await withHub([:]) { _, port in
            let socket = try await RawSocket.open(port: port)
            socket.send(request)
            let (text, closed) = await socket.untilClosed(timeout: .seconds(10))
            #expect(text.hasPrefix("HTTP/1.1 \(status)"), "\(text.prefix(200))")
            #expect(text.contains(#"{"error":{"code":"\#(code)""#), "\(text.prefix(400))")
            #expect(text.lowercased().contains("content-type: application/json"))
            #expect(closed)
            #expect(await healthz(port: port) == "HTTP/1.1 200 OK")
        }
    }

    @Test("a request the hub holds open longer than the idle and header timeouts is not cut")
    func longRequestNotCut() async throws {
        try await withHub(["OUTPOST_SERVER_HEADER_READ_TIMEOUT": "1s", "OUTPOST_SERVER_IDLE_TIMEOUT": "2s"]) { hub, port in
            _ = try await hub.client.createTarget(Target(name: "nowhere", integration: "bash", tags: TagSet(["absent"])))
            let task = try await hub.client.createTask(CreateTaskRequest(target: "nowhere", script: "true"))
            let socket = try await RawSocket.open(port: port)
            let started = ContinuousClock.now
            // Queued with no agent: the watch holds the request 5 s with no byte flowing.
            socket.send(
                "GET /api/v1/tasks/\(task.id)?wait=5 HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer \(hub.adminToken)\r\n\r\n")
            let answer = await socket.response(timeout: .seconds(15))
            #expect(answer?.hasPrefix("HTTP/1.1 200") == true, "\(answer ?? "no answer")")
            #expect(ContinuousClock.now - started >= .seconds(4))
            // The kept-alive connection then idles past the header-read timeout, within the idle one.
            try await Task.sleep(for: .milliseconds(1500))  // the idle gap under test, not a synchronisation
            socket.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
            #expect(await socket.response(timeout: .seconds(5))?.hasPrefix("HTTP/1.1 200") == true)
            // Past the idle timeout the hub closes it.
            let (_, closed) = await socket.untilClosed(timeout: .seconds(6))
            #expect(closed)
        }
    }
}
