import Foundation
import Logging
import OutpostCore
import OutpostStore

/// Asking an agent for its secret names, from whichever replica the user reached.
///
/// On a hub alone the request waits in memory (`SecretListings`) and goes to the
/// agent in its next poll answer. With several replicas the agent may poll another
/// one: the request is also stored (`relay_requests`), announced to the other
/// replicas, and the agent's answer, posted to any replica, is stored beside it and
/// announced back. Names only ever cross: an answer never holds a secret value.
extension Hub {
    func listSecretNames(agentName: String, provider: String?, prefix: String) async throws -> SecretListing {
        guard let agentID = try await onlineAgentID(named: agentName) else {
            throw HubError.notFound("no online agent named \"\(agentName)\"")
        }
        let requestID = secretListings.open(agentID: agentID)
        let control = ControlMessage.listSecrets(requestID: requestID, provider: provider, prefix: prefix)
        let listing: SecretListing?
        if isClustered {
            try await store.insertRelayRequest(
                RelayRequest(id: requestID, agentID: agentID, provider: provider, prefix: prefix, createdAt: now()))
            await dispatcher.send(control, to: agentID)
            publish(.secretListingRequested(requestID: requestID))
            listing = await waitForRelayedListing(requestID)
            try? await store.deleteRelayRequest(id: requestID)
        } else {
            await dispatcher.send(control, to: agentID)
            listing = await secretListings.wait(requestID, timeout: configuration.relayTimeout)
        }
        guard let listing else {
            throw HubError(
                .agentTimeout,
                "agent \(agentName) did not answer within \(configuration.relayTimeout); is it an Outpost agent of this version, and polling?")
        }
        return listing
    }

    /// The online agent of that name: in memory on a hub alone; in the store when it
    /// may poll another replica.
    private func onlineAgentID(named name: String) async throws -> String? {
        if let id = await dispatcher.onlineAgentID(named: name) { return id }
        guard isClustered else { return nil }
        return try await store.listAgents(includeOffline: false).first { $0.name == name }?.id
    }

    /// Waits for the answer in memory (posted here) and in the store (posted to
    /// another replica), looking in the store at least every reconciliation interval.
    private func waitForRelayedListing(_ requestID: String) async -> SecretListing? {
        let deadline = ContinuousClock.now + configuration.relayTimeout
        defer { secretListings.close(requestID) }
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let slice = min(ClusterTiming.reconcileInterval, deadline - ContinuousClock.now)
            if let listing = await secretListings.wait(requestID, timeout: slice, keepOpen: true) { return listing }
            if let answer = try? await store.relayRequest(id: requestID)?.answer,
                let listing = try? JSONDecoder().decode(SecretListing.self, from: Data(answer.utf8))
            {
                return listing
            }
        }
        return nil
    }

    /// The agent answered. Returns `false` when no request of that id is open for it anywhere.
    func deliverSecretListing(_ id: String, from agent: AgentIdentity, listing: SecretListing) async throws -> Bool {
        if secretListings.deliver(id, from: agent.id, listing: listing) { return true }
        guard isClustered else { return false }
        let answer = String(decoding: try JSONEncoder().encode(listing), as: UTF8.self)
        guard try await store.answerRelayRequest(id: id, agentID: agent.id, answer: answer) else { return false }
        publish(.secretListingReady(requestID: id))
        return true
    }

    /// Another replica's user asked an agent: if the agent polls here, ask it (once).
    func relaySecretListingRequest(_ requestID: String) async {
        guard let request = try? await store.relayRequest(id: requestID), request.answer == nil else { return }
        await relay(request)
    }

    /// Requests the events announced may not have reached this replica (a lost event).
    func relayPendingSecretListings() async {
        guard isClustered, let open = try? await store.openRelayRequests() else { return }
        for request in open { await relay(request) }
    }

    private func relay(_ request: RelayRequest) async {
        guard await dispatcher.isOnline(request.agentID), !secretListings.isOpen(request.id),
            secretListings.firstRelay(request.id, horizon: configuration.relayTimeout * 2)
        else { return }
        await dispatcher.send(
            .listSecrets(requestID: request.id, provider: request.provider, prefix: request.prefix), to: request.agentID)
    }

    /// An answer another replica stored: the user waiting here gets it now.
    func collectSecretListing(_ requestID: String) async {
        guard secretListings.isOpen(requestID), let request = try? await store.relayRequest(id: requestID),
            let answer = request.answer,
            let listing = try? JSONDecoder().decode(SecretListing.self, from: Data(answer.utf8))
        else { return }
        _ = secretListings.deliver(requestID, from: request.agentID, listing: listing)
    }
}
