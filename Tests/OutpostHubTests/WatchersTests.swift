import Foundation
import Testing

@testable import OutpostHub

@Suite("Task watchers")
struct WatchersTests {
    @Test("a change between subscribing and waiting is not lost")
    func changeBeforeWait() async {
        let watchers = TaskWatchers()
        let subscription = watchers.subscribe(taskID: "t")
        watchers.notify(taskID: "t")
        let started = ContinuousClock.now
        await watchers.wait(subscription, until: .now + .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(10))
        watchers.unsubscribe(subscription)
        #expect(watchers.subscriptionCount == 0)
    }

    @Test("a waiter wakes on a change and otherwise at its deadline")
    func wakeOrDeadline() async {
        let watchers = TaskWatchers()
        let subscription = watchers.subscribe(taskID: "t")
        let started = ContinuousClock.now
        await watchers.wait(subscription, until: .now + .milliseconds(100))
        #expect(ContinuousClock.now - started >= .milliseconds(90))

        async let woken: Void = watchers.wait(subscription, until: .now + .seconds(30))
        // Other tasks' changes do not wake it; its own does.
        watchers.notify(taskID: "other")
        watchers.notify(taskID: "t")
        await woken
        // Far below the 30 s deadline, with room for a loaded CI machine.
        #expect(ContinuousClock.now - started < .seconds(25))
        watchers.unsubscribe(subscription)
    }

    @Test("a status-only watcher ignores log appends")
    func statusOnly() async {
        let watchers = TaskWatchers()
        let subscription = watchers.subscribe(taskID: "t", statusOnly: true)
        watchers.notify(taskID: "t", .log)
        let started = ContinuousClock.now
        await watchers.wait(subscription, until: .now + .milliseconds(100))
        #expect(ContinuousClock.now - started >= .milliseconds(90))
        watchers.notify(taskID: "t", .status)
        let again = ContinuousClock.now
        await watchers.wait(subscription, until: .now + .seconds(30))
        #expect(ContinuousClock.now - again < .seconds(25))
        watchers.unsubscribe(subscription)
    }

    @Test("cancelling the waiting task ends its wait")
    func cancellation() async {
        let watchers = TaskWatchers()
        let subscription = watchers.subscribe(taskID: "t")
        let started = ContinuousClock.now
        let waiter = Task { await watchers.wait(subscription, until: .now + .seconds(30)) }
        waiter.cancel()
        await waiter.value
        #expect(ContinuousClock.now - started < .seconds(25))
        watchers.unsubscribe(subscription)
    }

    @Test("shutdown wakes every watcher and later waits return at once")
    func shutdown() async {
        let watchers = TaskWatchers()
        let subscription = watchers.subscribe(taskID: "t")
        async let woken: Void = watchers.wait(subscription, until: .now + .seconds(30))
        watchers.shutdown()
        await woken
        let late = watchers.subscribe(taskID: "u")
        let started = ContinuousClock.now
        await watchers.wait(late, until: .now + .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
