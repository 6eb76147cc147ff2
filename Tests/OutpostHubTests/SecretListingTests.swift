import Foundation
import HTTPTypes
import HummingbirdTesting
import OutpostCore
import OutpostTestSupport
import Testing

@testable import OutpostHub

@Suite("Secret name listings relayed to agents")
struct SecretListingTests {
    @Test("a listing request reaches the agent's waiting poll and its answer reaches the user")
    func relayed() async throws {
        try await TestHub.with(configure: { $0.pollTimeout = .seconds(25) }) { hub in
            try await hub.withAPI { api in
                let agent = try await SimAgent.register(
                    api, registrationToken: try await hub.registrationToken(), name: "lister-agent")
                async let waiting = agent.poll(api)
                #expect(await eventually { await hub.hub.dispatcher.snapshot().waitingPolls == 1 })

                async let user = api.send(.get, "/api/v1/agents/lister-agent/secrets?provider=vault&prefix=apps%2F")
                let controls = try await waiting.controls
                let control = try #require(controls.first)
                #expect(control.kind == .listSecrets)
                #expect(control.provider == "vault")
                #expect(control.prefix == "apps/")
                let requestID = try #require(control.requestID)

                let listing = SecretListing(
                    agent: "lister-agent", prefix: "apps/",
                    entries: [SecretListingEntry(provider: "vault", names: ["apps/billing", "apps/web"])])
                let report = try await api.send(
                    .post, "/api/v1/agent/secret-listings/\(requestID)", token: .bearer(agent.token), encodable: listing)
                #expect(report.status == .noContent)

                let answer = try await user
                #expect(answer.status == .ok, "\(answer.text)")
                #expect(try answer.decode(SecretListing.self) == listing)

                // A second report for the same request finds nothing open.
                let again = try await api.send(
                    .post, "/api/v1/agent/secret-listings/\(requestID)", token: .bearer(agent.token), encodable: listing)
                #expect(again.status == .notFound)
            }
        }
    }

    @Test("an unknown agent is 404; an agent that never answers is 504 agent_timeout")
    func failures() async throws {
        try await TestHub.with(configure: {
            $0.pollTimeout = .milliseconds(100)
            $0.relayTimeout = .milliseconds(300)
        }) { hub in
            try await hub.withAPI { api in
                let missing = try await api.send(.get, "/api/v1/agents/nobody-here/secrets")
                #expect(missing.status == .notFound)

                _ = try await SimAgent.register(api, registrationToken: try await hub.registrationToken(), name: "silent-agent")
                let silent = try await api.send(.get, "/api/v1/agents/silent-agent/secrets")
                #expect(silent.status == .gatewayTimeout)
                #expect(silent.error?.code == "agent_timeout")
            }
        }
    }
}
