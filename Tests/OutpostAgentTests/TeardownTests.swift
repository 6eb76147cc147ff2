import Foundation
@testable import OutpostAgent
import OutpostCore
import OutpostTestSupport
import Testing

/// Timeouts, cancels and drains leave no process of the task behind.
@Suite("Tearing a task down")
struct TeardownTests {
    /// The main shell ignores SIGTERM and starts a child that ignores it too.
    static let stubbornScript = """
        trap '' TERM
        sh -c 'trap "" TERM; echo $$ > "$SCRATCH/child"; while :; do sleep 0.05; done' &
        echo $$ > "$SCRATCH/main"
        echo started
        while :; do sleep 0.05; done
        """

    @Test("a timeout SIGTERMs, then SIGKILLs the whole group: no TERM-ignoring grandchild survives")
    func timeoutKillsEverything() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment(Self.stubbornScript, timeoutSeconds: 1)
        let started = ContinuousClock.now
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        let elapsed = ContinuousClock.now - started

        let finish = hub.state.value.finishes[assignment.taskID]
        #expect(finish?.status == .timedOut)
        #expect(finish?.exitCode == 137)
        #expect(finish?.error == "timed out after 1s")
        let main = try #require(await env.pid("main"))
        let child = try #require(await env.pid("child"))
        #expect(isGone(main))
        #expect(isGone(child))
        // 1 s timeout + 0.3 s grace + drain; generous bound for a loaded machine.
        #expect(elapsed < .seconds(20))
        #expect(String(decoding: hub.state.value.logs[assignment.taskID] ?? [], as: UTF8.self) == "started\n")
    }

    @Test("a cancel stops the task, reports cancelled and leaves no process")
    func cancelKillsEverything() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment(Self.stubbornScript)
        let runner = TaskRunner(assignment: assignment, context: env.context(hub: hub))
        async let done: Void = runner.run()
        let main = try #require(await env.pid("main"))
        let child = try #require(await env.pid("child"))
        runner.requestStop(.cancelled)
        await done

        let finish = hub.state.value.finishes[assignment.taskID]
        #expect(finish?.status == .cancelled)
        #expect(finish?.exitCode == 137)
        #expect(isGone(main))
        #expect(isGone(child))
    }

    @Test("a task that exits on SIGTERM is not SIGKILLed")
    func termIsEnough() async throws {
        let env = try TestEnvironment(killGrace: .seconds(30))
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment("echo $$ > \"$SCRATCH/main\"; exec sleep 1000")
        let runner = TaskRunner(assignment: assignment, context: env.context(hub: hub))
        async let done: Void = runner.run()
        let main = try #require(await env.pid("main"))
        runner.requestStop(.cancelled)
        await done
        #expect(hub.state.value.finishes[assignment.taskID]?.exitCode == 143)
        #expect(isGone(main))
    }

    @Test("output a background child writes after the main process exited is still collected")
    func drainCollectsLateOutput() async throws {
        let env = try TestEnvironment(drainTimeout: .seconds(10))
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment("(sleep 0.3; echo late) &\necho early")
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        #expect(hub.state.value.finishes[assignment.taskID]?.status == .succeeded)
        #expect(String(decoding: hub.state.value.logs[assignment.taskID] ?? [], as: UTF8.self) == "early\nlate\n")
    }

    @Test("a background child that keeps the pipe open is killed after the drain timeout")
    func drainTimeoutKillsHolder() async throws {
        let env = try TestEnvironment(drainTimeout: .milliseconds(300))
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment("sh -c 'echo $$ > \"$SCRATCH/holder\"; exec sleep 1000' &\necho done")
        let started = ContinuousClock.now
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(hub.state.value.finishes[assignment.taskID]?.status == .succeeded)
        #expect(hub.state.value.finishes[assignment.taskID]?.exitCode == 0)
        let holder = try #require(await env.pid("holder"))
        #expect(isGone(holder))
    }

    @Test("a descendant that left the task's session (setsid) is killed too")
    func escapedDescendant() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment(
            "setsid sh -c 'echo $$ > \"$SCRATCH/escaped\"; exec sleep 1000' > /dev/null 2>&1 < /dev/null &\n"
                + "while [ ! -s \"$SCRATCH/escaped\" ]; do sleep 0.01; done\necho done")
        await TaskRunner(assignment: assignment, context: env.context(hub: hub)).run()
        #expect(hub.state.value.finishes[assignment.taskID]?.status == .succeeded)
        let escaped = try #require(await env.pid("escaped"))
        #expect(await eventually { isGone(escaped) })
    }

    @Test("an abandoned task is stopped and not reported")
    func abandonedTask() async throws {
        let env = try TestEnvironment()
        defer { env.remove() }
        let hub = FakeHub()
        let assignment = env.assignment("echo $$ > \"$SCRATCH/main\"; echo hi; exec sleep 1000")
        let runner = TaskRunner(assignment: assignment, context: env.context(hub: hub))
        async let done: Void = runner.run()
        let main = try #require(await env.pid("main"))
        runner.requestStop(.abandoned)
        await done
        #expect(hub.state.value.finishes[assignment.taskID] == nil)
        #expect(isGone(main))
    }
}
