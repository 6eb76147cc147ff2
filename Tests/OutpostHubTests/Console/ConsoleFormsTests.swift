import Foundation
import OutpostCore
import OutpostStore
import Testing

@testable import OutpostHub

/// The task filter and the target form: what a user types becomes queries and targets.
@Suite struct ConsoleFormsTests {
    @Test func aFilterReadsEveryFieldAndWritesItBack() throws {
        let form = try ConsoleForm(encoded: "status=failed&target=db&agent=&user=alice&from=2026-12-01T08%3A30&to=2026-12-02T00%3A00")
        let filter = try ConsoleTaskFilter(form: form)
        #expect(filter.status == .failed)
        #expect(filter.target == "db")
        #expect(filter.agent == nil)
        #expect(filter.user == "alice")
        #expect(filter.from == Date(timeIntervalSince1970: 1_796_113_800))
        #expect(filter.to == Date(timeIntervalSince1970: 1_796_169_600))
        let again = try ConsoleTaskFilter(form: try ConsoleForm(encoded: Substring(URLText.query(filter.queryItems))))
        #expect(again == filter)
    }

    @Test func aBadFilterFieldIsNamed() {
        let cases = [
            ("status=done", "status"), ("from=yesterday", "from"), ("to=2026-13-01T00%3A00", "to"),
            // Numbers a client sends are range-checked before use (1e300 would trap an Int conversion).
            ("from=2026-01-01T1e300%3A00", "from"), ("from=2026-01-01T12%3Anan", "from"),
            ("to=2026-01-01T12%3A00%3Ainf", "to"), ("to=2026-01-01T24%3A00", "to"), ("from=0-01-01T00%3A00", "from"),
        ]
        for (query, field) in cases {
            #expect {
                try ConsoleTaskFilter(form: try ConsoleForm(encoded: Substring(query)))
            } throws: { error in
                (error as? HubError)?.message.hasPrefix("\(field):") == true
            }
        }
    }

    @Test func aUserFilterAsksForTheSubjectAndTheTokenName() {
        let queries = ConsoleTaskFilter(user: "alice").queries(after: nil, limit: 51)
        #expect(queries.count == 2)
        #expect(queries.contains { $0.userSubject == "alice" && $0.createdBy == nil })
        #expect(queries.contains { $0.createdBy == "alice" && $0.userSubject == nil })
        #expect(ConsoleTaskFilter(target: "db").queries(after: nil, limit: 51).count == 1)
    }

    @Test func mergedPagesAreNewestFirstWithoutDuplicatesAndSayWhereToGoOn() {
        func task(_ id: String, _ seconds: Double) -> TaskRecord {
            TaskRecord(id: id, target: "t", status: .succeeded, createdAt: Date(timeIntervalSince1970: seconds), timeoutSeconds: 60)
        }
        let a = [task("t5", 5), task("t3", 3), task("t1", 1)]
        let b = [task("t4", 4), task("t3", 3), task("t2", 2)]
        let page = ConsoleTaskFilter.page(merging: [a, b], size: 3)
        #expect(page.items.map(\.id) == ["t5", "t4", "t3"])
        #expect(page.next == TaskCursor(createdAt: Date(timeIntervalSince1970: 3), id: "t3"))
        let last = ConsoleTaskFilter.page(merging: [[task("t1", 1)]], size: 3)
        #expect(last.next == nil)
    }

    @Test func aTargetFormBecomesATargetAndBack() throws {
        let form = try ConsoleForm(
            encoded: "name=db&integration=postgres&tags=env%3Dprod%2C+region%3Deu&agent_types=&timeout=120"
                + "&env=PGDATABASE%3Dapp%0D%0A%0D%0APGAPPNAME%3Dops%3Dtool"
                + "&secret_provider=vault&secret_path=ops%2Fdb&secret_mapping=PGPASSWORD%3Dpassword%2C+PGUSER%3Duser"
                + "&secret_provider=&secret_path=&secret_mapping=")
        let target = try ConsoleTargetForm(form: form).target()
        #expect(target.name == "db")
        #expect(target.integration == "postgres")
        #expect(target.tags == TagSet(["env=prod", "region=eu"]))
        #expect(target.timeoutSeconds == 120)
        #expect(target.env == ["PGDATABASE": "app", "PGAPPNAME": "ops=tool"])
        #expect(target.secrets == [SecretReference(provider: "vault", path: "ops/db", mapping: ["PGPASSWORD": "password", "PGUSER": "user"])])
        var back = try ConsoleTargetForm(target: target).target()
        back.createdAt = target.createdAt  // the hub sets it when it stores the target
        #expect(back == target)
    }

    @Test func aCustomIntegrationOverridesThePicker() throws {
        let form = try ConsoleForm(encoded: "name=x&integration=bash&integration_custom=terraform")
        #expect(try ConsoleTargetForm(form: form).target().integration == "terraform")
    }

    @Test func malformedTargetLinesAreNamed() throws {
        let cases = [
            ("name=x&env=JUSTAKEY", "env: line 1"),
            ("name=x&env=A%3D1%0AA%3D2", "env: A is set twice"),
            ("name=x&secret_provider=vault&secret_path=&secret_mapping=", "secrets: row 1"),
            ("name=x&secret_provider=vault&secret_path=p&secret_mapping=NOEQUALS", "secrets: row 1's mapping"),
            ("name=x&timeout=soon", "timeout:"),
        ]
        for (query, prefix) in cases {
            #expect {
                try ConsoleTargetForm(form: try ConsoleForm(encoded: Substring(query))).target()
            } throws: { error in
                (error as? HubError)?.message.hasPrefix(prefix) == true
            }
        }
    }
}
