import OutpostCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import OutpostHub

/// Keeps `openapi.yaml` and the router in step.
@Suite("OpenAPI document")
struct OpenAPITests {
    /// `(METHOD, /path)` pairs of the document's `paths:` section. The document keeps
    /// paths at two spaces of indent and operations at four.
    static func documentedRoutes() throws -> Set<String> {
        let text = try #require(OpenAPIDocument.text, "openapi.yaml is not in the bundle")
        var routes: Set<String> = []
        var inPaths = false
        var currentPath: String?
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path = currentPath {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if methods.contains(String(key)) { routes.insert("\(key.uppercased()) \(path)") }
            }
        }
        return routes
    }

    @Test("every route the router serves is in openapi.yaml, and nothing else")
    func routesMatchDocument() async throws {
        try await TestHub.with { hub in
            let served = Set(hub.runtime.routes.signatures.map(\.description))
            let documented = try Self.documentedRoutes()
            #expect(
                served.subtracting(documented).isEmpty,
                "missing from openapi.yaml: \(served.subtracting(documented).sorted())")
            #expect(
                documented.subtracting(served).isEmpty,
                "documented but not served: \(documented.subtracting(served).sorted())")
            #expect(served.count >= 20)
        }
    }

    @Test("the document is served at /openapi.yaml and is OpenAPI 3.1")
    func served() async throws {
        try await TestHub.with { hub in
            try await hub.withAPI { api in
                let reply = try await api.send(.get, "/openapi.yaml", token: .none)
                #expect(reply.status == .ok)
                #expect(reply.text.hasPrefix("openapi: 3.1.0"))
                #expect(reply.headers[.contentType]?.hasPrefix("application/yaml") == true)
            }
        }
    }

    @Test("every error code the hub can send is documented")
    func errorCodesDocumented() throws {
        let text = try #require(OpenAPIDocument.text)
        for code in HubError.Code.allCases where code != .startup {
            #expect(text.contains("- \(code.rawValue)\n"), "error code \(code.rawValue) is not in openapi.yaml")
        }
    }
}
