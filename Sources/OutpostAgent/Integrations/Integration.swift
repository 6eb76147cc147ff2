/// A data-driven recipe that turns a script into a process: which program runs
/// it, with which arguments and environment, which 0600 files it gets, and how
/// the script reaches it. New integrations are catalog entries (built in, or in
/// the agent's config under `integrations:`), not new code.
///
/// Arguments, environment values and file contents are `IntegrationTemplate`s.
/// Credentials reach the program only through its environment or a 0600 file in
/// the task directory (deleted with it), never its argv.
package struct Integration: Sendable, Equatable {
    /// How the script reaches the program.
    package enum ScriptDelivery: String, Sendable, Equatable, CaseIterable {
        /// The script file's path appears in `arguments` (as `{script}`).
        case fileArgument = "file"
        /// The script file is opened as the process's standard input.
        case standardInput = "stdin"
    }

    /// Replaced in templates by the absolute path of the script file.
    package static let scriptPathPlaceholder = "{script}"

    /// The name targets use (`integration: bash`).
    package var name: String
    /// Program looked up on the task's PATH, or an absolute path.
    package var program: String
    /// Argument templates after the program name.
    package var arguments: [String]
    /// File name of the script inside the task directory (its extension matters to some programs).
    package var scriptFileName: String
    /// How the script is passed.
    package var scriptDelivery: ScriptDelivery
    /// Environment templates for every task of this integration (e.g. unbuffered
    /// output, or `KUBECONFIG={file:kubeconfig}`); a value naming a file that was
    /// not written is left out.
    package var environment: [String: String]
    /// Files written 0600 into the task directory before the run.
    package var files: [IntegrationFile]
    /// The variables (from the target's env or secrets) the program reads — documentation
    /// for `--map`, shown by `outpost integrations`.
    package var reads: [String]
    /// One line for `outpost integrations`.
    package var summary: String
    /// Variables that must be set (not empty) for a run; otherwise the task is rejected.
    package var requires: [String]
    /// Other programs the script calls (`kubectl`, `vault`) that must be on the PATH.
    package var tools: [String]
    /// How the program's output becomes the task's log.
    package var output: OutputFormat

    package enum OutputFormat: String, Sendable, Equatable, CaseIterable {
        /// As it comes.
        case text
        /// Tab-separated rows (`mysql --batch`) turned into CSV.
        case csvFromTSV = "csv-from-tsv"
    }

    package init(
        name: String,
        program: String,
        arguments: [String] = [Integration.scriptPathPlaceholder],
        scriptFileName: String,
        scriptDelivery: ScriptDelivery = .fileArgument,
        environment: [String: String] = [:],
        files: [IntegrationFile] = [],
        reads: [String] = [],
        summary: String = "",
        requires: [String] = [],
        tools: [String] = [],
        output: OutputFormat = .text
    ) {
        self.name = name
        self.program = program
        self.arguments = arguments
        self.scriptFileName = scriptFileName
        self.scriptDelivery = scriptDelivery
        self.environment = environment
        self.files = files
        self.reads = reads
        self.summary = summary
        self.requires = requires
        self.tools = tools
        self.output = output
    }

    /// The programs that must be on the PATH: the program, then its tools.
    package var programs: [String] { [program] + tools }

    /// Checks every template and file reference.
    package func validate() throws(IntegrationError) {
        guard !name.isEmpty, !program.isEmpty else {
            throw IntegrationError("an integration needs a name and a program")
        }
        guard !scriptFileName.isEmpty, !scriptFileName.contains("/"), scriptFileName != "." , scriptFileName != ".." else {
            throw IntegrationError("integration \(name): script_file must be a plain file name, not \"\(scriptFileName)\"")
        }
        let fileNames = Set(files.map(\.name))
        for file in files {
            guard !file.name.contains("/"), !file.name.isEmpty, !file.name.hasPrefix(".") else {
                throw IntegrationError("integration \(name): file name \"\(file.name)\" must be a plain name")
            }
        }
        for text in arguments + Array(environment.values) + files.map(\.content) {
            let template = try IntegrationTemplate(text)
            for file in template.fileNames where !fileNames.contains(file) {
                throw IntegrationError("integration \(name): {file:\(file)} names no file of its files:")
            }
        }
    }

    /// Works out the program's arguments, environment and files for one task.
    /// - Parameters:
    ///   - environment: the task's environment before the integration's own variables.
    ///   - secretVariables: the names in `environment` that hold secret values.
    ///   - fileDirectory: where the files go (inside the task directory).
    /// - Throws: when an argument would carry a secret variable.
    package func invocation(
        scriptPath: String, fileDirectory: String, environment: [String: String], secretVariables: Set<String>
    ) throws(IntegrationError) -> IntegrationInvocation {
        if let missing = requires.first(where: { (environment[$0] ?? "").isEmpty }) {
            throw IntegrationError(
                "integration \(name) needs \(missing) in the target's env or secrets (it reads \(reads.joined(separator: ", ")))")
        }
        var values = IntegrationValues(scriptPath: scriptPath, files: [:], environment: environment)
        var written: [IntegrationInvocation.File] = []
        var derived: [String] = []
        for file in files where file.isWanted(in: environment) {
            let path = "\(fileDirectory)/\(file.name)"
            values.files[file.name] = path
            written.append(.init(path: path, content: try IntegrationTemplate.expandLines(of: file.content, values)))
            derived += try IntegrationTemplate(file.content).secretURLParts(values, secretVariables: secretVariables)
        }
        var extra: [String: String] = [:]
        for (key, text) in self.environment {
            let template = try IntegrationTemplate(text)
            if let value = template.expand(values) { extra[key] = value }
            derived += template.secretURLParts(values, secretVariables: secretVariables)
        }
        // The target's variables and secrets win over the integration's defaults, as in the task's environment.
        values.environment.merge(extra) { task, _ in task }
        var arguments: [String] = []
        for text in self.arguments {
            let template = try IntegrationTemplate(text)
            if let secret = template.environmentNames.first(where: secretVariables.contains) {
                throw IntegrationError(
                    "integration \(name) would put \(secret), which comes from a secret, on the command line (visible to ps); set it in the target's env instead"
                )
            }
            if let argument = template.expand(values) { arguments.append(argument) }
        }
        return IntegrationInvocation(arguments: arguments, environment: extra, files: written, derivedSecrets: derived)
    }
}

/// A file an integration writes before the run (0600, in the task directory).
package struct IntegrationFile: Sendable, Equatable {
    package var name: String
    /// Template of the content, e.g. `{env:KUBECONFIG_DATA}`.
    package var content: String
    /// Written only when this variable is set and not empty (e.g. no kubeconfig
    /// secret: kubectl keeps its own default). `nil`: always.
    package var onlyIfSet: String?

    package init(name: String, content: String, onlyIfSet: String? = nil) {
        self.name = name
        self.content = content
        self.onlyIfSet = onlyIfSet
    }

    func isWanted(in environment: [String: String]) -> Bool {
        guard let onlyIfSet else { return true }
        return !(environment[onlyIfSet] ?? "").isEmpty
    }
}

/// One task's run of an integration, worked out.
package struct IntegrationInvocation: Sendable, Equatable {
    package struct File: Sendable, Equatable {
        package var path: String
        package var content: String
    }

    package var arguments: [String]
    /// The integration's own variables, expanded (merged over the task's environment).
    package var environment: [String: String]
    package var files: [File]
    /// Secret values the recipe derived (parts of a secret URL), to mask like the secrets themselves.
    package var derivedSecrets: [String] = []
}

/// The integrations an agent knows, by name.
package struct IntegrationCatalog: Sendable, Equatable {
    package private(set) var entries: [String: Integration]

    package init(_ integrations: [Integration]) {
        entries = Dictionary(integrations.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The integrations every agent knows (`BuiltInIntegrations`).
    package static let builtIn = IntegrationCatalog(BuiltInIntegrations.all)

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
