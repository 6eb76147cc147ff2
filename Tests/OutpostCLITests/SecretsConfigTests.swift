import AsyncHTTPClient
import Logging
import OutpostCore
import OutpostSecrets
import Testing

@testable import OutpostCLI

@Suite("Secrets configuration and references")
struct SecretsConfigTests {
    static let yaml = """
        hub: https://h:1
        token: t
        secrets:
          providers:
            - name: vault-eu
              type: vault
              address: https://vault.internal:8200
              auth: {method: kubernetes, role: outpost}
            - name: env
              type: env
          mask_min_length: 6
        """

    @Test("providers keep their options, file lines and environment overrides (nested keys too)")
    func providers() throws {
        let file = try ConfigFile.parse(Self.yaml, path: "agent.yaml")
        let settings = try AgentSettings.resolve(
            flags: .init(), file: file,
            environment: ["OUTPOST_AGENT_SECRETS_VAULT_EU_AUTH_ROLE": "deployer", "OUTPOST_AGENT_SECRETS_VAULT_EU_NAMESPACE": "team-a"])
        #expect(settings.secrets.providers.count == 2)
        #expect(settings.secrets.maskMinimumLength == 6)
        #expect(settings.secrets.maskEnvironmentSuffixes == ["TOKEN", "KEY", "SECRET", "PASSWORD"])
        let vault = settings.secrets.providers[0]
        #expect(try vault.string("address") == "https://vault.internal:8200")
        #expect(try vault.string("namespace") == "team-a")
        let auth = try #require(try vault.section("auth"))
        #expect(try auth.string("method") == "kubernetes")
        #expect(try auth.string("role") == "deployer")
        // Errors name the file line, or the environment variable that set the value.
        #expect(vault.invalid("address", "bad").message.hasPrefix("agent.yaml:7: secrets.providers[vault-eu].address"))
        #expect(auth.invalid("role", "bad").message.contains("OUTPOST_AGENT_SECRETS_VAULT_EU_AUTH_ROLE"))
    }

    @Test(
        "a malformed secrets section names the key and line",
        arguments: [
            ("secrets: [1]\n", "agent.yaml:3: secrets:"),
            ("secrets:\n  provider: []\n", "agent.yaml:4: secrets.provider: unknown key"),
            ("secrets:\n  providers: {name: x}\n", "agent.yaml:4: secrets.providers: expected a list"),
            ("secrets:\n  providers:\n    - type: env\n", "every provider needs a name"),
            ("secrets:\n  providers:\n    - {name: a, type: env}\n    - {name: a, type: env}\n", "two providers are named \"a\""),
            ("secrets:\n  mask_min_length: zero\n", "secrets.mask_min_length"),
        ])
    func malformed(_ tail: String, _ expected: String) throws {
        let file = try ConfigFile.parse("hub: https://h:1\ntoken: t\n" + tail, path: "agent.yaml")
        #expect {
            _ = try AgentSettings.resolve(flags: .init(), file: file, environment: [:])
        } throws: { error in
            ((error as? ConfigError)?.message ?? "").contains(expected)
        }
    }

    @Test("an unknown provider type or option is a configuration error naming it")
    func unknownTypeAndOption() throws {
        let file = try ConfigFile.parse(
            "hub: https://h:1\ntoken: t\nsecrets:\n  providers:\n    - {name: x, type: keepass}\n", path: "agent.yaml")
        let settings = try AgentSettings.resolve(flags: .init(), file: file, environment: [:])
        #expect(throws: CLIExit.self) { _ = try AgentCommand.Start.secretSet(settings.secrets, http: .shared, logger: .init(label: "t")) }
    }

    @Test("--secret and --map group in the order given")
    func secretFlags() throws {
        let references = try SecretReferenceSyntax.references(fromArguments: [
            "target", "create", "db", "--secret", "aws:prod/db", "--map", "PGHOST=host", "--map=PGPASSWORD=password",
            "--secret=vault:apps/token", "--map", "API_TOKEN", "--secret", "env:ALL_OF_IT",
        ])
        #expect(
            references == [
                SecretReference(provider: "aws", path: "prod/db", mapping: ["PGHOST": "host", "PGPASSWORD": "password"]),
                SecretReference(provider: "vault", path: "apps/token", mapping: ["API_TOKEN": ""]),
                SecretReference(provider: "env", path: "ALL_OF_IT"),
            ])
        #expect(throws: CLIExit.self) { try SecretReferenceSyntax.references(fromArguments: ["--map", "A=b"]) }
        #expect(throws: CLIExit.self) { try SecretReferenceSyntax.references(fromArguments: ["--secret", "nocolon"]) }
        #expect(throws: CLIExit.self) {
            try SecretReferenceSyntax.references(fromArguments: ["--secret", "a:b", "--map", "1BAD=x"])
        }
    }

    @Test("an --env value secret:PROVIDER:PATH#KEY is a reference to one key; anything else is literal")
    func environmentReferences() throws {
        #expect(
            try SecretReferenceSyntax.environmentReference(variable: "PGPASSWORD", value: "secret:aws:prod/db#password")
                == SecretReference(provider: "aws", path: "prod/db", mapping: ["PGPASSWORD": "password"]))
        #expect(
            try SecretReferenceSyntax.environmentReference(variable: "TOKEN", value: "secret:vault:apps/token")
                == SecretReference(provider: "vault", path: "apps/token", mapping: ["TOKEN": ""]))
        #expect(try SecretReferenceSyntax.environmentReference(variable: "REGION", value: "eu-west-1") == nil)
        #expect(throws: CLIExit.self) { try SecretReferenceSyntax.environmentReference(variable: "X", value: "secret:aws:db#") }
    }
}
