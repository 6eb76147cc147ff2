import ArgumentParser
import Foundation
import OutpostClient
import OutpostCore

/// `outpost task run TARGET`: submit, stream the log live, exit with the task's exit code.
struct TaskRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a script on a target, stream its log and exit with its exit code.",
        discussion: """
            The script comes from --script, --file, or standard input (--file - or a pipe).
            Exit status: the task's own exit code when it ran to completion; 124 when it timed \
            out, 125 when it was rejected by its agent or lost with it, 130 when it was cancelled \
            (with one line `outpost: task ID STATUS: reason` on stderr); 1 when the hub could not \
            be reached; 2 for bad usage.

            Examples:
              outpost task run local --script 'echo hello from $(hostname)'
              outpost task run web-prod --file deploy.sh --timeout 10m
              echo 'SELECT 1' | outpost task run reporting-db
              outpost task run prod-db --file fix.sql --user-token-file ~/.outpost/session.jwt

            With --user-token-file the task carries your session token (JWT) to agents that \
            enforce user tokens; the hub keeps it in memory only and the agent records the \
            verified subject on the task.

            With --sign-key the task carries your signature over everything it will run \
            (target, integration, script, environment, secret references, tags, timeout), \
            valid for --sign-valid-for (default 10m). Agents with require_signed_tasks run it \
            only if nothing was changed on the way, once. See docs/signed-tasks.md.
              outpost keys generate --out ~/.outpost/keys
              outpost task run prod-db --file fix.sql --sign-key ~/.outpost/keys/task-signing-key.pem
            """
    )

    @Argument(help: "Name of the target to run against.")
    var target: String

    @Option(help: "The script text.")
    var script: String?

    @Option(help: ArgumentHelp("Read the script from a file ('-' for standard input).", valueName: "path"))
    var file: String?

    @Option(help: "Stop the task after this long, e.g. 30s, 5m (default: the target's, else the hub's).")
    var timeout: String?

    @Option(
        name: .customLong("user-token-file"),
        help: ArgumentHelp(
            "File holding your user session token (JWT), for agents that enforce user tokens (jwk_url). Also OUTPOST_USER_TOKEN_FILE.",
            valueName: "path"))
    var userTokenFile: String?

    @Option(
        name: .customLong("sign-key"),
        help: ArgumentHelp(
            "Sign the task with this private key (from `outpost keys generate`), for agents that require signed tasks. Also OUTPOST_SIGN_KEY.",
            valueName: "path"))
    var signKey: String?

    @Flag(
        name: .customLong("accept-target-change"),
        help: "Sign for a target that changed on the hub since you last signed for it (after checking the change).")
    var acceptTargetChange = false

    @Option(
        name: .customLong("sign-valid-for"),
        help: ArgumentHelp("How long the signature stays valid, from 1s to 23h59m (default 10m).", valueName: "duration"))
    var signValidFor: String?

    @Flag(help: "Print the task id and return without waiting.")
    var detach = false

    @Flag(help: "Print the final task as JSON instead of streaming its log.")
    var json = false

    @OptionGroup var client: ClientOptions

    func run() async throws {
        var request = try makeRequest()
        let userToken = try readUserToken()
        let hub = try client.makeClient()
        if var signing = try TaskSigning(keyPath: signKey, validFor: signValidFor) {
            signing.acceptTargetChange = acceptTargetChange
            let described = try await withHub { () async throws(ClientError) in try await hub.target(named: target) }
            request = try signing.sign(request, for: described, hub: hub.baseURL)
        } else if acceptTargetChange {
            throw CLIExit.usage("--accept-target-change: only applies with --sign-key")
        }
        if detach {
            let task = try await withHub { () async throws(ClientError) in
                try await hub.createTask(request, userToken: userToken)
            }
            if json { try Output.json(task) } else { Output.line(task.id) }
            return
        }
        // One request submits and follows the task to its end; if that stream breaks
        // (a hub restart), the log and the result are picked up where it stopped.
        let end = try await withHub { () async throws(ClientError) in
            try await hub.runTask(request, userToken: userToken, includeLog: !json) { bytes in
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
        let final: TaskRecord
        switch end {
        case .finished(let task):
            final = task
        case .interrupted(let task, let logOffset, _):
            if !json { try await TaskLogStreamer(hub: hub, taskID: task.id).stream(from: logOffset) }
            final = try await TaskWaiter(hub: hub).waitUntilTerminal(task.id)
        }
        if json { try Output.json(final) }
        throw TaskOutcome.exit(for: final)
    }

    func makeRequest() throws -> CreateTaskRequest {
        let text = try readScript()
        var timeoutSeconds: Int? = nil
        if let timeout {
            do {
                let seconds = try DurationParser.seconds(timeout)
                guard seconds >= 1 else { throw CLIExit.usage("--timeout: must be at least 1s") }
                timeoutSeconds = Int(seconds.rounded(.up))
            } catch let error as OutpostCore.ValidationError {
                throw CLIExit.usage("--timeout: \(error.message)")
            }
        }
        return CreateTaskRequest(target: target, script: text, timeoutSeconds: timeoutSeconds)
    }

    private func readScript() throws -> String {
        if script != nil, file != nil { throw CLIExit.usage("give the script with --script or --file, not both") }
        if let script { return script }
        if let file {
            if file == "-" { return readStandardInput() }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIExit.usage("--file: cannot read \(file)")
            }
            return String(decoding: data, as: UTF8.self)
        }
        if isatty(STDIN_FILENO) == 0 { return readStandardInput() }
        throw CLIExit.usage("no script: pass --script TEXT, --file PATH, or pipe it on standard input")
    }

    /// The user token from `--user-token-file` (or `OUTPOST_USER_TOKEN_FILE`), trimmed.
    /// Errors name the file, never its content.
    func readUserToken() throws -> String? {
        guard let path = userTokenFile ?? ProcessInfo.processInfo.environment["OUTPOST_USER_TOKEN_FILE"] else {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIExit.usage("--user-token-file: cannot read \(path)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: { $0.isWhitespace }) else {
            throw CLIExit.usage("--user-token-file: \(path) must hold one JWT (a single line without spaces)")
        }
        return token
    }

    private func readStandardInput() -> String {
        String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
}

/// Maps a terminal task to the CLI's exit (DESIGN.md: the task's own exit code,
/// or a one-line reason and a fixed non-zero code).
enum TaskOutcome {
    static func exit(for task: TaskRecord) -> CLIExit {
        let reason = task.error ?? "no reason given"
        switch task.status {
        case .succeeded: return CLIExit(code: 0)
        case .failed: return CLIExit(code: task.exitCode.map { $0 == 0 ? 1 : $0 } ?? 1)
        case .timedOut:
            return CLIExit(code: CLIExit.Code.timedOut, message: "task \(task.id) timed_out: \(reason)")
        case .rejected, .lost:
            return CLIExit(code: CLIExit.Code.noResult, message: "task \(task.id) \(task.status.rawValue): \(reason)")
        case .cancelled:
            return CLIExit(code: CLIExit.Code.cancelled, message: "task \(task.id) cancelled: \(task.error ?? "cancelled by a user")")
        case .queued, .assigned, .running:
            return CLIExit(code: CLIExit.Code.failure, message: "task \(task.id) is still \(task.status.rawValue)")
        }
    }
}
