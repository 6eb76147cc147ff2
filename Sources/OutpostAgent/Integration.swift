/// A data-driven recipe that turns a script into a process: which program runs
/// it, with which arguments, and how the script reaches it. New integrations
/// (postgres, mysql, k8s, ...) are new catalog entries, not new code.
package struct Integration: Sendable, Equatable {
    /// How the script reaches the program.
    package enum ScriptDelivery: Sendable, Equatable {
        /// The script file's path appears in `arguments` (as `Integration.scriptPathPlaceholder`).
        case fileArgument
        /// The script file is opened as the process's standard input.
        case standardInput
    }

    /// Replaced in `arguments` by the absolute path of the script file.
    package static let scriptPathPlaceholder = "{script}"

    /// The name targets use (`integration: bash`).
    package var name: String
    /// Program looked up on the task's PATH, or an absolute path.
    package var program: String
    /// Arguments after the program name; may contain `scriptPathPlaceholder`.
    package var arguments: [String]
    /// File name of the script inside the task directory (its extension matters to some programs).
    package var scriptFileName: String
    /// How the script is passed.
    package var scriptDelivery: ScriptDelivery
    /// Extra environment for every task of this integration (e.g. unbuffered output).
    package var environment: [String: String]

    package init(
        name: String,
        program: String,
        arguments: [String] = [Integration.scriptPathPlaceholder],
        scriptFileName: String,
        scriptDelivery: ScriptDelivery = .fileArgument,
        environment: [String: String] = [:]
    ) {
        self.name = name
        self.program = program
        self.arguments = arguments
        self.scriptFileName = scriptFileName
        self.scriptDelivery = scriptDelivery
        self.environment = environment
    }

    /// The argument list with the script path filled in.
    func arguments(scriptPath: String) -> [String] {
        arguments.map { $0.replacingPlaceholder(Self.scriptPathPlaceholder, with: scriptPath) }
    }
}

/// The integrations an agent knows, by name.
package struct IntegrationCatalog: Sendable, Equatable {
    package private(set) var entries: [String: Integration]

    package init(_ integrations: [Integration]) {
        entries = Dictionary(integrations.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// bash, sh, python (python3) and node. Output is unbuffered where the program allows it so logs stream live.
    package static let builtIn = IntegrationCatalog([
        Integration(name: "bash", program: "bash", arguments: ["--noprofile", "--norc", "{script}"], scriptFileName: "script.sh"),
        Integration(name: "sh", program: "sh", arguments: ["{script}"], scriptFileName: "script.sh"),
        Integration(
            name: "python", program: "python3", arguments: ["-u", "{script}"], scriptFileName: "script.py",
            environment: ["PYTHONUNBUFFERED": "1"]),
        Integration(name: "node", program: "node", arguments: ["{script}"], scriptFileName: "script.js"),
    ])

    package func integration(named name: String) -> Integration? { entries[name] }

    /// A copy with `other`'s entries added, replacing same-named ones (the seam for configured extras).
    package func merging(_ other: [Integration]) -> IntegrationCatalog {
        var copy = self
        for integration in other { copy.entries[integration.name] = integration }
        return copy
    }

    /// Names in order, for messages.
    package var names: [String] { entries.keys.sorted() }
}

extension String {
    fileprivate func replacingPlaceholder(_ placeholder: String, with value: String) -> String {
        guard !placeholder.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: placeholder) {
            result += rest[..<range.lowerBound]
            result += value
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
