import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The web console's task list on a hub (issue 15: "paged so it stays fast with
/// 1,000,000 tasks"): signs in as a browser does, then times whole page answers
/// (HTML rendered, every byte read) for the pages a user opens most.
struct ConsoleListMeasurement {
    /// The pages timed, by what they show. The history's tasks are target
    /// `benchmark`, run by token `benchmark`, spread over the last ~12 days.
    static let pages: [(label: String, query: String)] = [
        ("newest page", "status="),
        ("one target", "target=benchmark"),
        ("one status (failed)", "status=failed"),
        ("one user (two queries merged)", "user=benchmark"),
        ("a time range", "from=\(ConsoleListMeasurement.daysAgo(6))&to=\(ConsoleListMeasurement.daysAgo(5))"),
    ]
    /// How deep the paging measurement goes (older pages by the "next" link).
    static let depth = 20

    let url: String
    let cookie: String

    /// Signs in with the admin token; the session cookie comes back on the 303.
    static func signIn(url: String, token: String) async throws -> ConsoleListMeasurement {
        var request = HTTPClientRequest(url: url + "/sign-in")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Origin", value: url)
        request.body = .bytes(ByteBuffer(string: "token=" + token))
        let response = try await noRedirects.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .seeOther,
            let cookie = response.headers["Set-Cookie"].first(where: { $0.hasPrefix("outpost_session=") })?
                .split(separator: ";").first.map(String.init)
        else { throw BenchError("console sign-in answered \(response.status.code), no session cookie") }
        return ConsoleListMeasurement(url: url, cookie: cookie)
    }

    /// Seconds to fetch `path` whole, and the page's HTML.
    func fetch(_ path: String) async throws -> (seconds: Double, html: String) {
        var request = HTTPClientRequest(url: url + path)
        request.headers.add(name: "Cookie", value: cookie)
        let start = ContinuousClock.now
        let response = try await Self.noRedirects.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        let seconds = (ContinuousClock.now - start).seconds
        guard response.status == .ok else { throw BenchError("console \(path) answered \(response.status.code)") }
        return (seconds, String(buffer: body))
    }

    /// The page `Self.depth` "older" links below the newest, and how long that last one took.
    func deepPage() async throws -> Double {
        var path = "/tasks?status="
        var seconds = 0.0
        for _ in 0..<Self.depth {
            let page = try await fetch(path)
            guard let start = page.html.range(of: "id=\"next-page\" href=\"") else { return seconds }
            path = String(page.html[start.upperBound...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
            seconds = try await fetch(path).seconds
        }
        return seconds
    }

    static func daysAgo(_ days: Double) -> String {
        let date = Date().addingTimeInterval(-days * 86_400)
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return String(format: "%04d-%02d-%02dT%02d%%3A%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    private static let noRedirects: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
