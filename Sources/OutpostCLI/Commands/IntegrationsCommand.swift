import ArgumentParser
import Foundation
import OutpostAgent
import OutpostCore

/// `outpost integrations`: what this machine's agent can run, and whether each
/// program is on its PATH. Runs locally: no hub involved.
struct IntegrationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrations",
        abstract: "List the integrations an agent on this machine knows, and whether their programs are installed.",
        discussion: """
            Built-in integrations plus those in the agent's config file (integrations:), looked up \
            on this shell's PATH (run it as the agent's user, with its PATH). A target's integration \
            whose program is missing is rejected by the agent with that reason. READS lists the \
            variables each one uses: map your secrets onto them with `target create --map`. \
            Details and examples: docs/integrations.md.
            """)

    @Option(name: .customLong("config-file"), help: ArgumentHelp("The agent's YAML config file.", valueName: "path"))
    var configFile: String?

    @Flag(help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        var name: String
        var program: String
        var found: String?
        var missing: [String]
        var reads: [String]
        var summary: String
    }

    func run() async throws {
        let extras = try configFile.map { path throws in try IntegrationsSettings.resolve(file: try ConfigFile.load(path: path)) } ?? []
        let catalog = IntegrationCatalog.builtIn.merging(extras)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let entries = catalog.names.compactMap { catalog.integration(named: $0) }.map { integration in
            Entry(
                name: integration.name, program: integration.program,
                found: ExecutableLookup.find(integration.program, path: path),
                missing: integration.programs.filter { ExecutableLookup.find($0, path: path) == nil },
                reads: integration.reads, summary: integration.summary)
        }
        if json { return try Output.json(entries) }
        Output.table(
            header: ["NAME", "PROGRAM", "INSTALLED", "READS", "WHAT IT RUNS"],
            rows: entries.map {
                [
                    $0.name, $0.program, $0.missing.isEmpty ? "yes" : "missing " + $0.missing.joined(separator: ", "),
                    $0.reads.isEmpty ? "-" : $0.reads.joined(separator: ","), $0.summary,
                ]
            })
    }
}
