// outpost-bench: performance scenarios, built in release mode by `scripts/bench`.
//
//   outpost-bench [options] [scenario...]
//   outpost-bench --list
//
// With no scenario it runs them all. Not shipped; no business logic here.

import AsyncHTTPClient
import Foundation

func usage(_ problem: String? = nil) -> Never {
    if let problem { print("outpost-bench: \(problem)") }
    print("""
        usage: outpost-bench [options] [scenario...]

          --outpost PATH      the outpost executable to start (default: next to outpost-bench)
          --output-dir DIR    write DIR/latest.json and a dated copy of the results
          --runs N            repetitions where the best run counts (default 3)
          --size-mib N        data size for the logs and masking scenarios (default 256)
          --chunk-kib N       masking chunk size (default 64)
          --scale X           multiply task and agent counts, e.g. 0.1 for a quick look (default 1)
          --idle-seconds N    how long footprint lets processes idle (default 60)
          --postgres-service PATH   scripts/services/postgres: replicas starts a throw-away
                              PostgreSQL server with it unless OUTPOST_BENCH_DATABASE_URL is set
          --postgres-dir DIR  TMPDIR for that script (default: outpost-bench-postgres in TMPDIR)
          --list              list the scenarios

        scenarios: \(allScenarios.map(\.name).joined(separator: ", "))
        """)
    exit(2)
}

var options = BenchOptions()
options.outpostBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/outpost"
var outputDirectory: String?
var names: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func text() -> String {
        guard let value = arguments.popFirst() else { usage("\(argument) needs a value") }
        return value
    }
    func number() -> Int {
        guard let value = Int(text()), value > 0 else { usage("\(argument) needs a positive whole number") }
        return value
    }
    switch argument {
    case "--runs": options.runs = number()
    case "--size-mib": options.sizeMiB = number()
    case "--chunk-kib": options.chunkKiB = number()
    case "--idle-seconds": options.idleSeconds = number()
    case "--scale":
        guard let value = Double(text()), value > 0 else { usage("--scale needs a positive number") }
        options.scale = value
    case "--outpost": options.outpostBinary = text()
    case "--output-dir": outputDirectory = text()
    case "--postgres-service": options.postgresService = text()
    case "--postgres-dir": options.postgresDirectory = text()
    case "--list":
        for scenario in allScenarios { print("\(scenario.name)\t\(scenario.summary)") }
        exit(0)
    case "-h", "--help": usage()
    default:
        if argument.hasPrefix("-") { usage("unknown option \(argument)") }
        names.append(argument)
    }
}

let selected = names.isEmpty || names == ["all"] ? allScenarios : names.map { name in
    guard let scenario = allScenarios.first(where: { $0.name == name }) else { usage("unknown scenario \(name)") }
    return scenario
}
guard FileManager.default.isExecutableFile(atPath: options.outpostBinary) else {
    usage("no outpost executable at \(options.outpostBinary) (build it, or pass --outpost)")
}

let started = Date()
var rows: [BenchRow] = []
var failures: [String] = []
for scenario in selected {
    log("== \(scenario.name): \(scenario.summary)")
    do {
        rows += try await scenario.run(options)
    } catch {
        log("\(scenario.name) failed: \(error)")
        failures.append(scenario.name)
        rows.append(BenchRow(scenario.name, "FAILED", value: nil, notes: "\(error)".split(separator: "\n").first.map(String.init) ?? ""))
    }
}
printTable(rows)
if let outputDirectory {
    do {
        let written = try BenchResults(started: started, options: options, rows: rows).write(to: outputDirectory)
        log("results written to \(written.joined(separator: " and "))")
    } catch {
        log("cannot write the results: \(error)")
        exit(1)
    }
}
try? await BenchHTTP.client.shutdown()
exit(failures.isEmpty ? 0 : 1)
