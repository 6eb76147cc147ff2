// outpost-bench: performance scenarios, built in release mode by `scripts/bench`.
//
//   outpost-bench [--runs N] [--size-mib N] [--chunk-kib N] [scenario...]
//   outpost-bench --list
//
// With no scenario it runs them all. Not shipped; no business logic here.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func usage() -> Never {
    print("usage: outpost-bench [--runs N] [--size-mib N] [--chunk-kib N] [--list] [scenario...]")
    print("scenarios: \(allScenarios.map(\.name).joined(separator: ", "))")
    exit(2)
}

var options = BenchOptions()
var names: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func number() -> Int {
        guard let text = arguments.popFirst(), let value = Int(text), value > 0 else { usage() }
        return value
    }
    switch argument {
    case "--runs": options.runs = number()
    case "--size-mib": options.sizeMiB = number()
    case "--chunk-kib": options.chunkKiB = number()
    case "--list":
        for scenario in allScenarios { print("\(scenario.name)\t\(scenario.summary)") }
        exit(0)
    case "-h", "--help": usage()
    default:
        if argument.hasPrefix("-") { usage() }
        names.append(argument)
    }
}

let selected = names.isEmpty || names == ["all"] ? allScenarios : names.map { name in
    guard let scenario = allScenarios.first(where: { $0.name == name }) else {
        print("outpost-bench: unknown scenario \(name)")
        usage()
    }
    return scenario
}

var rows: [BenchRow] = []
for scenario in selected {
    do {
        rows += try scenario.run(options)
    } catch {
        print("outpost-bench: \(scenario.name) failed: \(error)")
        exit(1)
    }
}
printTable(rows)
