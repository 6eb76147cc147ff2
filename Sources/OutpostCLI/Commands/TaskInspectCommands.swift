import ArgumentParser
import Foundation
import OutpostClient
import OutpostCore

/// `outpost task get ID`.
struct TaskGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show a task.")

    @Argument var id: String

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let hub = try client.makeClient()
        let task = try await withHub { () async throws(ClientError) in try await hub.task(id: id) }
        if json { return try Output.json(task) }
        Output.line("id:         \(task.id)")
        Output.line("target:     \(task.target)")
        Output.line("status:     \(task.status.rawValue)\(task.cancelRequested && !task.status.isTerminal ? " (cancel requested)" : "")")
        Output.line("exit code:  \(task.exitCode.map(String.init) ?? "-")")
        Output.line("agent:      \(task.agent ?? "-")")
        if let error = task.error { Output.line("error:      \(error)") }
        Output.line("created:    \(Output.time(task.createdAt)) by \(task.createdBy ?? "-")")
        if let subject = task.userSubject { Output.line("user:       \(subject)") }
        if let kid = task.signedBy {
            Output.line("signed by:  key \(kid) (verified by the agent)")
        } else if let warning = task.signatureWarning {
            Output.line("signature:  not verified (the agent, in warn mode, ran it anyway): \(warning)")
        } else if task.signed {
            Output.line("signed by:  not verified by an agent yet")
        }
        Output.line("started:    \(Output.time(task.startedAt))")
        Output.line("finished:   \(Output.time(task.finishedAt))")
        Output.line("duration:   \(Output.elapsed(from: task.startedAt, to: task.finishedAt))")
        Output.line("log:        \(task.logBytes) bytes\(task.logTruncated ? " (truncated)" : "")")
        if let late = task.lateStatus {
            // The agent came back after the hub gave up on it; the status stays lost.
            Output.line(
                "late:       \(late.rawValue), exit code \(task.lateExitCode.map(String.init) ?? "-"), "
                    + "reported \(Output.time(task.lateFinishedAt)) after the task was lost; "
                    + "log from byte \(task.lateLogOffset.map(String.init) ?? "-") arrived late")
        }
    }
}

/// `outpost task logs ID [--follow]`.
struct TaskLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a task's log.",
        discussion: "Secrets were masked as [SECURE] by the agent before the log left its machine.")

    @Argument var id: String

    @Flag(name: .shortAndLong, help: "Keep streaming until the task ends.")
    var follow = false

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let hub = try client.makeClient()
        if follow { return try await TaskLogStreamer(hub: hub, taskID: id).stream(from: 0) }
        var offset: Int64 = 0
        while true {
            let page = try await withHub { () async throws(ClientError) in try await hub.readLog(taskID: id, offset: offset) }
            Output.raw(page.bytes)
            if page.bytes.isEmpty || page.nextOffset <= offset { return }
            offset = page.nextOffset
        }
    }
}

/// `outpost task cancel ID`.
struct TaskCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a task.",
        discussion: """
            A queued task is cancelled at once. A running one is stopped by its agent: SIGTERM to \
            its process group, then SIGKILL after a grace period.
            """)

    @Argument var id: String

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let hub = try client.makeClient()
        let task = try await withHub { () async throws(ClientError) in try await hub.cancelTask(id: id) }
        if json { return try Output.json(task) }
        if task.status == .cancelled {
            Output.line("task \(task.id) cancelled")
        } else if task.status.isTerminal {
            Output.line("task \(task.id) had already ended: \(task.status.rawValue)")
        } else {
            Output.line("task \(task.id): cancel requested; its agent is stopping it")
        }
    }
}

/// `outpost task list`.
struct TaskList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List recent tasks, newest first.")

    @Option(help: "Only tasks in this state (queued, running, succeeded, failed, ...).")
    var status: String?

    @Option(help: "At most this many tasks (1-1000).")
    var limit: Int = 50

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var client: ClientOptions

    func run() async throws {
        var filter: TaskStatus? = nil
        if let status {
            guard let parsed = TaskStatus(rawValue: status) else {
                throw CLIExit.usage(
                    "--status: unknown state \"\(status)\"; use one of \(TaskStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter = parsed
        }
        guard (1...1000).contains(limit) else { throw CLIExit.usage("--limit: must be from 1 to 1000") }
        let hub = try client.makeClient()
        let tasks = try await withHub { () async throws(ClientError) in try await hub.listTasks(status: filter, limit: limit) }
        if json { return try Output.json(ListResponse(items: tasks)) }
        Output.table(
            header: ["ID", "TARGET", "STATUS", "EXIT", "AGENT", "CREATED", "DURATION"],
            rows: tasks.map {
                [
                    $0.id, $0.target, $0.status.rawValue, $0.exitCode.map(String.init) ?? "-", $0.agent ?? "-",
                    Output.time($0.createdAt), Output.elapsed(from: $0.startedAt, to: $0.finishedAt),
                ]
            })
    }
}
