import Logging
import OutpostClient
import OutpostCore
import Synchronization

/// Which channel the agent's calls use: the open one for the session's token, a new
/// one opened once for every caller that needs it at the same moment, or none while
/// the hub (or a proxy before it) refuses channels, when calls use the long poll.
///
/// A refusal is logged once, as a warning naming who refused and why; the channel is
/// tried again after `retryRefusedAfter`, so an agent that outlives a proxy change
/// or a hub upgrade moves to the channel without a restart.
final class ChannelKeeper: Sendable {
    private struct State {
        var channel: HubChannel?
        var token: String?
        /// An open in progress, shared by every caller with the same token.
        var opening: (token: String, task: Task<Result<HubChannel, HubChannel.OpenFailure>, Never>)?
        var longPollUntil: ContinuousClock.Instant?
        var announcedFallback = false
        var opened = 0
    }

    static let retryRefusedAfter: Duration = .seconds(600)

    private let version: Int
    private let logger: Logger
    private let state = Mutex(State())

    init(version: Int, logger: Logger) {
        self.version = version
        self.logger = logger
    }

    /// Retires the channel in use (a new certificate, a deregistration): the next call
    /// opens another. An open under way is disowned too: it carries the old certificate.
    func retire() {
        let old = state.withLock { state -> HubChannel? in
            defer {
                state.channel = nil
                state.token = nil
                state.opening = nil
            }
            return state.channel
        }
        old?.retire()
    }

    /// The channel to use for `token`, or `nil` for the long poll.
    /// - Throws: the open's error when the hub cannot be reached or refuses the agent
    ///   itself (401, 403, 5xx), as the same call over HTTP would.
    func channel(token: String, client: @escaping @Sendable () -> HubClient) async throws(ClientError) -> HubChannel? {
        let version = self.version
        let (ready, task, stale) = state.withLock {
            state -> (HubChannel?, Task<Result<HubChannel, HubChannel.OpenFailure>, Never>?, HubChannel?) in
            if let until = state.longPollUntil, ContinuousClock.now < until { return (nil, nil, nil) }
            var stale: HubChannel?
            if let channel = state.channel {
                if state.token == token, !channel.isClosed { return (channel, nil, nil) }
                stale = channel
                state.channel = nil
                state.token = nil
            }
            if let opening = state.opening, opening.token == token { return (nil, opening.task, stale) }
            let task = Task { () -> Result<HubChannel, HubChannel.OpenFailure> in
                do throws(HubChannel.OpenFailure) {
                    return .success(try await HubChannel.open(client: client(), version: version))
                } catch {
                    return .failure(error)
                }
            }
            state.opening = (token, task)
            return (nil, task, stale)
        }
        stale?.retire()
        if let ready { return ready }
        guard let task else { return nil }
        let result = await task.value
        return try settle(result, token: token, task: task)
    }

    private func settle(
        _ result: Result<HubChannel, HubChannel.OpenFailure>, token: String,
        task: Task<Result<HubChannel, HubChannel.OpenFailure>, Never>
    ) throws(ClientError) -> HubChannel? {
        switch result {
        case .success(let channel):
            let installed = state.withLock { state -> Int? in
                guard let opening = state.opening, opening.task == task else { return nil }
                state.opening = nil
                state.channel = channel
                state.token = token
                state.longPollUntil = nil
                state.opened += 1
                return state.opened
            }
            switch installed {
            case nil:
                // Disowned while it opened (a new certificate or token): it must not serve
                // calls; this one fails as an unreachable hub does and is retried.
                channel.close()
                throw ClientError(.unreachable, "the channel to the hub at \(channel.baseURL) was replaced while it opened")
            case 1:
                logger.info(
                    "opened the agent channel to the hub", metadata: ["hub": "\(channel.baseURL)", "version": "\(channel.version)"])
            default:
                logger.debug("reopened the agent channel to the hub", metadata: ["hub": "\(channel.baseURL)"])
            }
            return channel
        case .failure(.refused(let error)):
            let announce = state.withLock { state -> Bool in
                if let opening = state.opening, opening.task == task { state.opening = nil }
                state.longPollUntil = ContinuousClock.now + Self.retryRefusedAfter
                defer { state.announcedFallback = true }
                return !state.announcedFallback
            }
            if announce {
                logger.warning("the hub refused the agent channel; using the long poll instead: \(error.message)")
            }
            return nil
        case .failure(.failed(let error)):
            state.withLock { state in
                if let opening = state.opening, opening.task == task { state.opening = nil }
            }
            throw error
        }
    }
}
