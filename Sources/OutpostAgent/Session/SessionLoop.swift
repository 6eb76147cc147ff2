import Foundation
import OutpostSecrets
import Logging
import OutpostClient
import OutpostCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The register/poll loop of one daemon run, and the task group that owns every runner.
struct SessionLoop: Sendable {
    struct End: Sendable {
        var failure: AgentError?
        /// The agent is registered and should deregister (all its tasks are done).
        var deregister: Bool
    }

    let configuration: AgentConfiguration
    let hub: any AgentHubAPI
    let clock: any AgentClock
    let control: DaemonControl
    let credentials: SessionCredentials
    let context: RunnerContext
    /// The name the agent asks for (given, or a random readable one kept for the whole run).
    let name: String
    /// The agent's key when the hub is reached over HTTPS: each registration sends a CSR
    /// for it, and a client certificate it brings back is presented from then on.
    let key: AgentKey?
    let logger: Logger

    private var backoff: Backoff {
        Backoff(initial: configuration.retryInitialDelay, maximum: configuration.retryMaxDelay)
    }

    /// Runs until the agent stops taking work and every runner has ended.
    func run() async -> End {
        await withDiscardingTaskGroup { group in
            var machine = AgentSessionStateMachine(
                concurrency: configuration.concurrency, hubURL: hub.currentURL,
                signsAWSIdentityUpFront: configuration.signsAWSIdentityUpFront,
                canSignAWSIdentity: configuration.awsIdentitySigner != nil)
            var handledLapses = control.state.value.certificateLapses
            while true {
                let snapshot = control.state.value
                if snapshot.certificateLapses != handledLapses {
                    // The renewer gave the certificate up and logged why.
                    handledLapses = snapshot.certificateLapses
                    machine.clientCertificateLost()
                }
                switch snapshot.mode {
                case .active: break
                case .draining: machine.beginDraining()
                case .stopping: machine.beginStopping()
                }
                switch machine.next(running: snapshot.runningIDs) {
                case .register:
                    switch await register(proveAWSIdentity: machine.provesAWSIdentity) {
                    case .registered(let response):
                        do throws(ClientError) {
                            // Before the token: a call with the new token carries the new certificate.
                            try useClientCertificate(response.clientCertificate)
                        } catch {
                            if case .backOff(let attempt) = machine.registerFailed(error) {
                                logRetry("cannot use the hub's client certificate", error, attempt: attempt)
                                await pause(backoff.delay(attempt: attempt), from: snapshot.mode)
                            }
                            continue
                        }
                        // Before the first poll: no task may arrive under a laxer mode than the type asks.
                        await context.signatures?.adopt(hubHint: response.signedTasks)
                        credentials.set(response.agentToken)
                        control.registered(certificate: response.clientCertificate)
                        machine.registerSucceeded(pollTimeoutSeconds: response.pollTimeoutSeconds)
                        logger.info(
                            "registered with the hub",
                            metadata: ["agent": "\(response.name)", "hub": "\(hub.currentURL)"])
                    case .failed(let error):
                        // With several URLs, name the replica that answered.
                        machine.hubURL = hub.currentURL
                        switch machine.registerFailed(error) {
                        case .register:
                            logger.info("the agent type names agents after their AWS identity; signing one")
                        case .backOff(let attempt):
                            logRetry("cannot register with the hub", error, attempt: attempt)
                            await pause(backoff.delay(attempt: attempt), from: snapshot.mode)
                        case .fail(let code, let message):
                            control.stopNow()
                            return End(failure: AgentError(code, message, underlying: error), deregister: false)
                        default:
                            break
                        }
                    case .identityUnavailable(let failure):
                        control.stopNow()
                        return End(failure: failure, deregister: false)
                    case .interrupted:
                        break
                    }
                case .poll(let request):
                    switch await poll(request, timeout: machine.pollDeadline, sent: snapshot) {
                    case .answer(let response):
                        machine.pollSucceeded()
                        await accept(response, into: &group)
                    case .failed(let error):
                        if case .backOff(let attempt) = machine.pollFailed(error) {
                            logRetry("poll failed", error, attempt: attempt)
                            await pause(backoff.delay(attempt: attempt), from: snapshot.mode)
                        } else if error.apiCode == .clientCertificateRequired {
                            logger.warning(
                                "the hub refused this agent's client certificate (\(error.message)); registering again for a new one (tasks keep running)"
                            )
                        } else {
                            logger.notice("the hub ended this agent's session; registering again (tasks keep running)")
                        }
                    case .interrupted:
                        break
                    }
                case .backOff(let attempt):
                    await pause(backoff.delay(attempt: attempt), from: snapshot.mode)
                case .deregister:
                    return End(failure: nil, deregister: true)
                case .stop:
                    return End(failure: nil, deregister: false)
                case .fail(let code, let message):
                    control.stopNow()
                    return End(failure: AgentError(code, message), deregister: false)
                }
            }
        }
    }

    // MARK: Calls that a stop (or a freed slot) interrupts

    private enum RegisterOutcome: Sendable {
        case registered(RegisterResponse)
        case failed(ClientError)
        /// The AWS identity could not be signed (no credentials, ...).
        case identityUnavailable(AgentError)
        case interrupted
    }

    /// Registers; only a hard stop interrupts (a graceful one lets it finish so the
    /// agent can deregister cleanly).
    private func register(proveAWSIdentity: Bool) async -> RegisterOutcome {
        var awsIdentity: SignedHTTPRequest?
        if proveAWSIdentity, let signer = configuration.awsIdentitySigner {
            do {
                awsIdentity = try await signer()
            } catch {
                return .identityUnavailable(
                    AgentError(
                        .registrationFailed,
                        "cannot sign an AWS identity for the hub (aws-sts agent type): \(error)", underlying: error))
            }
        }
        let csr: String?
        do {
            csr = try key?.certificateSigningRequest(commonName: name)
        } catch {
            return .identityUnavailable(error)
        }
        let request = RegisterRequest(
            name: name, tags: configuration.tags, version: OutpostVersion.current, os: Self.operatingSystem,
            concurrency: configuration.concurrency, providerFingerprint: configuration.secrets.providerFingerprint,
            awsIdentity: awsIdentity, disconnectAfterJob: configuration.disconnectAfterJob,
            idleTimeoutSeconds: configuration.idleTimeout.map { Double($0.components.seconds) },
            certificateSigningRequest: csr, signedTasks: configuration.signedTasks.mode)
        let hub = self.hub
        let control = self.control
        return await withTaskGroup(of: RegisterOutcome.self) { group in
            group.addTask {
                do throws(ClientError) { return .registered(try await hub.register(request)) } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                _ = await control.state.wait(until: { $0.mode == .stopping })
                return .interrupted
            }
            let first = await group.next() ?? .interrupted
            group.cancelAll()
            return first
        }
    }

    private enum PollOutcome: Sendable {
        case answer(PollResponse)
        case failed(ClientError)
        case interrupted
    }

    /// Long-polls. Interrupted by a change of mode, and — when the poll announced no
    /// free slot, so the hub cannot be handing out work on it — by a task ending, so
    /// the next poll reports the free slot (or lets a draining agent deregister).
    private func poll(_ request: PollRequest, timeout: Duration, sent: DaemonState) async -> PollOutcome {
        let hub = self.hub
        let token = credentials.current ?? ""
        let announcedNoSlot = request.freeSlots == 0
        let sentMode = sent.mode
        let sentFinished = sent.finishedRunners
        let sentLapses = sent.certificateLapses
        return await withTaskGroup(of: PollOutcome.self) { group in
            group.addTask {
                do throws(ClientError) {
                    return .answer(try await hub.poll(request, timeout: timeout, agentToken: token))
                } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                _ = await control.state.wait(until: { state in
                    state.mode != sentMode || (announcedNoSlot && state.finishedRunners != sentFinished)
                        || state.certificateLapses != sentLapses
                })
                return .interrupted
            }
            let first = await group.next() ?? .interrupted
            group.cancelAll()
            guard case .interrupted = first else { return first }
            // Work the hub handed out just before the interruption must not be dropped.
            while let other = await group.next() {
                if case .answer(let response) = other, !response.isEmpty { return other }
            }
            return .interrupted
        }
    }

    /// Presents `grant`'s certificate (with the agent's key) on every later call, or
    /// none without a grant.
    /// - Throws: `ClientError(.invalidResponse)` when the hub's certificate is not PEM.
    private func useClientCertificate(_ grant: ClientCertificateGrant?) throws(ClientError) {
        guard let grant else {
            hub.useClientIdentity(nil)
            return
        }
        guard let key else {
            throw ClientError(.invalidResponse, "the hub sent a client certificate that this agent did not ask for")
        }
        hub.useClientIdentity(try ClientIdentity(certificatePEM: grant.certificate, privateKeyPEM: key.pemRepresentation))
        logger.info(
            "received a client certificate", metadata: ["not_valid_after": "\(grant.notValidAfter.formatted(.iso8601))"])
    }

    /// Sleeps for a backoff delay; a change of mode cuts it short.
    private func pause(_ delay: Duration, from mode: AgentSessionStateMachine.Mode) async {
        _ = await control.state.wait(until: { $0.mode != mode }, deadline: clock.now() + delay, clock: clock)
    }

    // MARK: Work from the hub

    /// Starts runners for new assignments and applies control messages.
    private func accept(_ response: PollResponse, into group: inout DiscardingTaskGroup) async {
        await awaitSlotsHandedOver(for: response.assignments.count)
        for assignment in response.assignments {
            let snapshot = control.state.value
            guard snapshot.runners[assignment.taskID] == nil else { continue }
            let plan: TaskRunner.Plan
            if snapshot.mode == .stopping {
                plan = .reject("the agent was stopping when the task arrived")
            } else if snapshot.busySlots >= configuration.concurrency {
                plan = .reject("the agent had no free slot (it runs \(configuration.concurrency) task(s) at once)")
            } else {
                plan = .run
            }
            start(TaskRunner(assignment: assignment, plan: plan, context: context), in: &group)
        }
        for message in response.controls {
            let runner = control.runner(message.taskID)
            switch message.kind {
            case .cancel:
                if let runner {
                    logger.info("cancel requested", metadata: ["task": "\(message.taskID)"])
                    runner.requestStop(.cancelled)
                } else {
                    // The hub thinks we hold it (an assignment we never saw): settle it.
                    let placeholder = TaskAssignment(
                        taskID: message.taskID, target: Target(name: "", integration: ""), script: "", timeoutSeconds: 0)
                    start(TaskRunner(assignment: placeholder, plan: .reportCancelled, context: context), in: &group)
                }
            case .abandon:
                runner?.requestStop(.abandoned)
            case .disconnect:
                // The hub decided (no race with a new assignment: it sends no work with this).
                logger.notice(
                    "the hub told this agent to disconnect; deregistering and exiting",
                    metadata: ["reason": "\(message.reason ?? "no reason given")"])
                control.drain()
            case .listSecrets:
                guard let requestID = message.requestID, let token = credentials.current else { continue }
                let (hub, secrets, logger, agentName) = (self.hub, context.secrets, self.logger, name)
                let (provider, prefix) = (message.provider, message.prefix ?? "")
                group.addTask {
                    await Self.listSecrets(
                        requestID: requestID, provider: provider, prefix: prefix, agentName: agentName,
                        secrets: secrets, hub: hub, token: token, logger: logger)
                }
            }
        }
    }

    /// Longest wait for slots the hub already counts free (see below).
    static let slotHandOverWait: Duration = .seconds(5)

    /// Waits, briefly, until `count` more tasks fit. The hub hands a finished task's
    /// slot to the waiting poll as it answers the finish, so the poll's answer may
    /// overtake the runner marking its slot free by a moment; a hand-out that still
    /// does not fit after `slotHandOverWait` is refused as before.
    private func awaitSlotsHandedOver(for count: Int) async {
        let limit = configuration.concurrency
        guard count > 0, control.state.value.busySlots + count > limit else { return }
        _ = await control.state.wait(
            until: { $0.busySlots + count <= limit || $0.mode == .stopping },
            deadline: clock.now() + Self.slotHandOverWait, clock: clock)
    }

    /// Lists secret names (never values) for the hub and reports them; a failure
    /// is reported in the listing, and an undeliverable report only logged.
    private static func listSecrets(
        requestID: String, provider: String?, prefix: String, agentName: String, secrets: any SecretResolver,
        hub: any AgentHubAPI, token: String, logger: Logger
    ) async {
        var entries: [SecretListingEntry]
        do {
            entries = try await secrets.listNames(provider: provider, prefix: prefix)
        } catch {
            entries = [SecretListingEntry(provider: provider ?? "", names: [], error: error.message)]
        }
        logger.info(
            "listed secret names for the hub",
            metadata: ["providers": "\(entries.map(\.provider))", "prefix": "\(prefix)"])
        do {
            try await hub.reportSecretListing(
                requestID: requestID, SecretListing(agent: agentName, prefix: prefix, entries: entries), agentToken: token)
        } catch {
            logger.warning("could not deliver the secret listing: \(error.message)")
        }
    }

    private func start(_ runner: TaskRunner, in group: inout DiscardingTaskGroup) {
        guard control.add(runner) else { return }
        let control = self.control
        group.addTask {
            await runner.run()
            control.remove(runner.taskID)
        }
    }

    // MARK: Leaving

    /// Deregisters, retrying for at most `stopReportTimeout`.
    func deregister() async {
        guard let token = credentials.current else { return }
        let hub = self.hub
        let clock = self.clock
        let backoff = self.backoff
        let logger = self.logger
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var attempt = 0
                while !Task.isCancelled {
                    do throws(ClientError) {
                        try await hub.deregister(agentToken: token)
                        logger.info("deregistered from the hub")
                        return
                    } catch {
                        guard HubFailure(error) == .retry else {
                            logger.notice("deregistration refused (the hub will time this agent out): \(error.message)")
                            return
                        }
                        attempt += 1
                        guard (try? await clock.sleep(for: backoff.delay(attempt: attempt))) != nil else { return }
                    }
                }
            }
            group.addTask {
                guard (try? await clock.sleep(for: configuration.stopReportTimeout)) != nil else { return }
                logger.warning("could not deregister in time; the hub will mark this agent offline after its heartbeat timeout")
            }
            await group.next()
            group.cancelAll()
        }
        credentials.set(nil)
    }

    private func logRetry(_ what: String, _ error: ClientError, attempt: Int) {
        if attempt == 1 || attempt % 10 == 0 {
            logger.warning("\(what), retrying: \(error.message)", metadata: ["attempt": "\(attempt)"])
        } else {
            logger.debug("\(what), retrying: \(error.message)", metadata: ["attempt": "\(attempt)"])
        }
    }

    /// `Linux 6.1.0 x86_64`, from uname.
    static let operatingSystem: String = {
        var info = utsname()
        guard uname(&info) == 0 else { return "unknown" }
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        return "\(field(info.sysname)) \(field(info.release)) \(field(info.machine))"
    }()
}
