import ArgumentParser

/// `outpost task ...`: run scripts and look at their results.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Run a script on a target and inspect tasks.",
        discussion: """
            A task is one run of a script against a target, on one agent whose tags match the \
            target's. States: queued, assigned, running, then succeeded, failed, cancelled, \
            timed_out, lost (its agent vanished) or rejected (its agent refused it).
            """,
        subcommands: [TaskRun.self, TaskGet.self, TaskLogs.self, TaskCancel.self, TaskList.self]
    )
}
