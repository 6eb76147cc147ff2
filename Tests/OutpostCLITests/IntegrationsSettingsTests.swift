import OutpostAgent
import Testing

@testable import OutpostCLI

@Suite("integrations: in the agent's config")
struct IntegrationsSettingsTests {
    @Test("a configured recipe is read with every field and replaces a built-in of the same name")
    func reads() throws {
        let file = try ConfigFile.parse(
            """
            hub: https://h:1
            token: t
            integrations:
              - name: psql-readonly
                program: psql
                arguments: ["-X", "-f", "{script}"]
                script_file: script.sql
                environment: {PGOPTIONS: "-c default_transaction_read_only=on"}
                files:
                  - {name: pgpass, content: "*:*:*:*:{env:PGPASSWORD}", only_if_set: PGPASSWORD}
                reads: [PGHOST, PGPASSWORD]
                requires: [PGHOST]
                summary: read-only SQL
              - name: bash
                program: bash
                script: stdin
            """, path: "agent.yaml")
        let settings = try AgentSettings.resolve(flags: .init(), file: file, environment: [:])
        #expect(settings.integrations.count == 2)
        let readonly = try #require(settings.integrations.first)
        #expect(readonly.arguments == ["-X", "-f", "{script}"])
        #expect(readonly.environment == ["PGOPTIONS": "-c default_transaction_read_only=on"])
        #expect(readonly.files == [IntegrationFile(name: "pgpass", content: "*:*:*:*:{env:PGPASSWORD}", onlyIfSet: "PGPASSWORD")])
        #expect(readonly.requires == ["PGHOST"])
        let catalog = IntegrationCatalog.builtIn.merging(settings.integrations)
        #expect(catalog.integration(named: "bash")?.scriptDelivery == .standardInput)
        #expect(catalog.integration(named: "bash")?.arguments == [])
        #expect(catalog.integration(named: "postgres") != nil)
    }

    @Test(
        "a bad recipe names the key and the file line",
        arguments: [
            ("  - program: psql\n", "agent.yaml:4: integrations[0]: an integration needs a name"),
            ("  - name: x\n", "agent.yaml:4: integrations[0]: integration x needs a program"),
            ("  - name: x\n    program: p\n    script: pipe\n", "agent.yaml:6: integrations[0].script: expected file or stdin"),
            ("  - name: x\n    program: p\n    arguments: [\"{password}\"]\n", "is not a placeholder"),
            ("  - name: x\n    program: p\n    colour: blue\n", "agent.yaml:6: integrations[0].colour: unknown key"),
            ("  - name: x\n    program: p\n    arguments: [\"{file:nope}\"]\n", "names no file"),
            ("  - name: x\n    program: p\n  - name: x\n    program: q\n", "defined twice"),
        ])
    func errors(_ yaml: String, _ expected: String) throws {
        let file = try ConfigFile.parse("hub: https://h:1\ntoken: t\nintegrations:\n" + yaml, path: "agent.yaml")
        #expect {
            _ = try AgentSettings.resolve(flags: .init(), file: file, environment: [:])
        } throws: { error in
            ((error as? ConfigError)?.message ?? "").contains(expected)
        }
    }
}
