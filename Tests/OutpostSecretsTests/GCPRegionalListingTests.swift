import Foundation
@testable import OutpostSecrets
import OutpostTestSupport
import Testing

@Suite("GCP Secret Manager: regional secrets, listing")
struct GCPRegionalListingTests {
    @Test("location: plain names and listing go to projects/P/locations/L at the regional endpoint")
    func locationOption() async throws {
        let fixture = try GCPFixture()
        let value = CloudTest.canary()
        fixture.fake.setSecret("db", "global-value")
        fixture.fake.setSecret("db", value, location: "us-east4")
        fixture.fake.setSecret("api", "x", location: "us-east4")
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base, ["location": "us-east4"])
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            #expect(try await provider.fetch(path: "db") == .text(value))
            #expect(try await provider.fetch(path: "db@1") == .text(value))
            #expect(try await provider.list(prefix: "") == ["api", "db"])
            // The full name of a global secret is global, whatever `location` says.
            #expect(try await provider.fetch(path: "projects/outpost-test/secrets/db") == .text("global-value"))
            let missing = await CloudTest.failure { () async throws(SecretError) in
                try await provider.fetch(path: "projects/outpost-test/locations/europe-west1/secrets/db")
            }
            #expect(missing?.code == .notFound)
            #expect(missing?.message.contains("locations/europe-west1/secrets/db") == true)
        }
    }

    @Test("a path naming the location reads a regional secret from a provider without location")
    func regionalPath() async throws {
        let fixture = try GCPFixture()
        fixture.fake.setSecret("db", "one", location: "europe-west1")
        fixture.fake.setSecret("db", "two", location: "europe-west1")
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            #expect(try await provider.fetch(path: "projects/outpost-test/locations/europe-west1/secrets/db") == .text("two"))
            #expect(try await provider.fetch(path: "projects/outpost-test/locations/europe-west1/secrets/db/versions/1") == .text("one"))
            let global = await CloudTest.failure { () async throws(SecretError) in try await provider.fetch(path: "db") }
            #expect(global?.code == .notFound)
        }
    }

    @Test("regional endpoints: secretmanager.LOCATION.rep.googleapis.com by default, else endpoint or regional_endpoint")
    func regionalEndpoints() throws {
        func configuration(_ extra: [String: Any]) throws -> GCPSecretManagerProvider.Configuration {
            var values: [String: Any] = ["name": "gcp", "type": "gcp-secret-manager", "project": "p", "auth": ["method": "metadata"]]
            values.merge(extra) { $1 }
            return try GCPSecretManagerProvider.Configuration(options: CloudTest.options(values), environment: [:])
        }
        let plain = try configuration(["location": "us-east4"])
        let regional = plain.resource(project: "p", location: "us-east4")
        #expect(regional.base == "https://secretmanager.us-east4.rep.googleapis.com")
        #expect(regional.parent == "projects/p/locations/us-east4")
        let global = plain.resource(project: "p", location: nil)
        #expect(global.base == "https://secretmanager.googleapis.com")
        #expect(global.parent == "projects/p")
        let proxied = try configuration(["endpoint": "https://sm.internal"])
        #expect(proxied.resource(project: "p", location: "eu").base == "https://sm.internal")
        let own = try configuration(["regional_endpoint": "https://{location}-sm.internal"])
        #expect(own.resource(project: "p", location: "asia-east1").base == "https://asia-east1-sm.internal")
        #expect(throws: SecretError.self) { try configuration(["location": "US East"]) }
    }

    @Test(
        "paths with a location",
        arguments: [
            ("projects/p/locations/us-east4/secrets/db", "us-east4", "latest"),
            ("projects/p/locations/europe-west1/secrets/db/versions/3", "europe-west1", "3"),
        ])
    func regionalPaths(path: String, location: String, version: String) throws {
        let reference = try GCPSecretManagerProvider.parse(path)
        #expect(reference.location == .regional(location))
        #expect(reference.project == "p")
        #expect(reference.version == version)
    }

    @Test("malformed regional paths are refused", arguments: [
        "projects/p/locations/US/secrets/db", "projects/p/locations//secrets/db", "projects/p/locations/us-east4/db",
        "projects/p/locations/us-east4/secrets/db/versions", "projects/p/locations/a/b/secrets/db",
    ])
    func badRegionalPaths(path: String) {
        #expect(throws: SecretError.self) { try GCPSecretManagerProvider.parse(path) }
    }

    @Test("listing: each page is bounded by the request timeout, not all pages together")
    func pagesBoundedOnTheirOwn() async throws {
        let fixture = try GCPFixture(pageSize: 1)
        for name in ["a", "b", "c", "d", "e"] { fixture.fake.setSecret(name, "v") }
        let clock = ContinuousClock()
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base, ["timeout": "3s"])
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            fixture.fake.setDelay(.milliseconds(800))
            let start = clock.now
            #expect(try await provider.list(prefix: "") == ["a", "b", "c", "d", "e"])
            // Five pages of 800 ms: longer than one request's timeout, and fine.
            #expect(clock.now - start > .seconds(3))
            // A page slower than the timeout still fails it.
            fixture.fake.setDelay(.milliseconds(4500))
            let slow = await CloudTest.failure { () async throws(SecretError) in try await provider.list(prefix: "") }
            #expect(slow?.code == .unreachable)
        }
    }

    @Test("listing stops with a clear error when the store never stops sending nextPageToken")
    func endlessListing() async throws {
        let fixture = try GCPFixture(pageSize: 1)
        fixture.fake.setSecret("a", "v")
        fixture.fake.setEndlessListing(true)
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.list(prefix: "") }
            #expect(error?.code == .malformed)
            #expect(error?.message.contains("listing stopped after 1000 pages") == true, "\(error?.message ?? "")")
        }
        #expect(fixture.fake.counts.apiRequests == GCPSecretManagerProvider.maxListPages)
    }

    @Test("a page that names itself as the next one stops the listing at once")
    func loopingListing() async throws {
        let fixture = try GCPFixture(pageSize: 1)
        for name in ["a", "b", "c"] { fixture.fake.setSecret(name, "v") }
        fixture.fake.setEndlessListing(true, repeating: true)
        try await fixture.fake.run { base in
            let (options, directory) = try fixture.options(base)
            defer { directory.remove() }
            let provider = try CloudTest.provider(options)
            let error = await CloudTest.failure { () async throws(SecretError) in try await provider.list(prefix: "") }
            #expect(error?.code == .malformed)
            #expect(error?.message.contains("the same token") == true, "\(error?.message ?? "")")
        }
        // The first page has no token; the second names itself.
        #expect(fixture.fake.counts.apiRequests == 2)
    }
}
