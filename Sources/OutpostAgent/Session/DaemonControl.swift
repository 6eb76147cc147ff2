import OutpostCore

/// The daemon's shared state: its mode and the runners of the tasks it holds.
/// Signal handlers, the poll loop and finishing runners all meet here.
struct DaemonState: Sendable {
    var mode: AgentSessionStateMachine.Mode = .active
    var runners: [String: TaskRunner] = [:]
    /// Runners still tidying up whose slot the hub already gave to the waiting poll
    /// (their finish said so): they take no slot and are not listed as running.
    var slotsTakenOver: Set<String> = []
    /// How many runners have ended without the hub taking their slot over; a change
    /// wakes a poll that announced no free slot, so the next poll announces it.
    var finishedRunners = 0
    /// Successful registrations so far; a change tells the certificate renewer to
    /// start over from `certificate`.
    var registrations = 0
    /// The client certificate of the latest registration (mTLS agent types), else `nil`.
    var certificate: ClientCertificateGrant?
    /// Times the client certificate was lost (expired unrenewed, refused by the hub);
    /// a change interrupts the poll and makes the session register again.
    var certificateLapses = 0

    var runningIDs: [String] { runners.keys.filter { !slotsTakenOver.contains($0) }.sorted() }

    /// Slots its runners take.
    var busySlots: Int { runners.count - slotsTakenOver.count }
}

final class DaemonControl: Sendable {
    let state = WatchedState(DaemonState())

    /// Graceful shutdown: take no more work, let running tasks finish.
    func drain() {
        state.update { if $0.mode == .active { $0.mode = .draining } }
    }

    /// Hard stop: tear every task down.
    func stopNow() {
        let runners = state.update { state -> [TaskRunner] in
            state.mode = .stopping
            return Array(state.runners.values)
        }
        for runner in runners { runner.requestStop(.agentStopping) }
    }

    /// A registration succeeded, with `certificate` when the agent type requires one.
    func registered(certificate: ClientCertificateGrant?) {
        state.update {
            $0.registrations += 1
            $0.certificate = certificate
        }
    }

    /// The client certificate is gone: the session must register again.
    func certificateLapsed() {
        state.update { $0.certificateLapses += 1 }
    }

    /// Registers a runner; `false` if one already runs that task (a repeated assignment).
    func add(_ runner: TaskRunner) -> Bool {
        let (added, stopping) = state.update { state -> (Bool, Bool) in
            guard state.runners[runner.taskID] == nil else { return (false, false) }
            state.runners[runner.taskID] = runner
            return (true, state.mode == .stopping)
        }
        // A stop that raced with this assignment still reaches the new runner.
        if stopping { runner.requestStop(.agentStopping) }
        return added
    }

    func remove(_ taskID: String) {
        state.update {
            $0.runners[taskID] = nil
            if $0.slotsTakenOver.remove(taskID) == nil { $0.finishedRunners += 1 }
        }
    }

    /// The hub gave the task's slot to the agent's waiting poll (the runner's finish
    /// said so): the slot is free now, though the runner still tidies up.
    func slotTakenOver(_ taskID: String) {
        state.update { if $0.runners[taskID] != nil { $0.slotsTakenOver.insert(taskID) } }
    }

    func runner(_ taskID: String) -> TaskRunner? {
        state.value.runners[taskID]
    }
}
