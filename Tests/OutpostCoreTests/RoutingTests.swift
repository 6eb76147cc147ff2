import OutpostCore
import Testing

@Suite("Routing and allowed tags")
struct RoutingTests {
    @Test(
        "a pinned route admits only its agent types, and the tag rule still applies",
        arguments: [
            ("prod-eu", ["prod"], ["prod"], ["prod-eu"], true),
            ("staging", ["prod"], ["prod"], ["prod-eu"], false),
            ("prod-us", ["prod"], ["prod"], ["prod-eu", "prod-us"], true),
            ("prod-eu", ["eu"], ["prod"], ["prod-eu"], false),
            ("prod-eu", [], [], ["prod-eu"], true),
            ("prod-eu", ["prod"], [], ["prod-eu"], false),
            ("anything", ["prod", "eu"], ["prod"], [], true),
        ])
    func pinned(type: String, agentTags: [String], taskTags: [String], pins: [String], runs: Bool) {
        let agent = AgentRoute(type: type, tags: TagSet(agentTags))
        let task = TaskRoute(tags: TagSet(taskTags), agentTypes: pins)
        #expect(Routing.agent(agent, mayRun: task) == runs)
    }

    @Test(
        "tag patterns: exact, * anywhere, several stars; never more than the pattern says",
        arguments: [
            ("prod", "prod", true), ("prod", "prod2", false), ("prod", "pro", false),
            ("team-*", "team-a", true), ("team-*", "team-", true), ("team-*", "team", false),
            ("*-db", "orders-db", true), ("*-db", "orders-dbx", false),
            ("a*b*c", "abc", true), ("a*b*c", "a-b-b-c", true), ("a*b*c", "acb", false),
            ("*", "x", true), ("**", "anything", true),
            ("a*a*a*a*a*a*b", String(repeating: "a", count: 60), false),
        ])
    func patterns(pattern: String, tag: String, matches: Bool) throws {
        #expect(try TagPattern(pattern).matches(tag) == matches)
    }

    @Test("a bad pattern names the field and itself", arguments: ["", "pro d", "prod/eu", String(repeating: "a", count: 65)])
    func badPatterns(pattern: String) {
        #expect {
            try TagPattern(pattern)
        } throws: { error in
            let error = error as? ValidationError
            return error?.field == "allowed_tags" && error?.message.contains("allowed tag \"\(pattern)\"") == true
        }
    }

    @Test("the first disallowed tag is reported; an empty list allows only no tags")
    func firstDisallowed() throws {
        let allowed = try [TagPattern](commaSeparated: "prod, team-* ,")
        #expect(allowed.map(\.pattern) == ["prod", "team-*"])
        #expect(allowed.firstDisallowed(in: TagSet(["prod", "team-x"])) == nil)
        #expect(allowed.firstDisallowed(in: TagSet(["prod", "sec"])) == "sec")
        #expect([TagPattern]().firstDisallowed(in: .empty) == nil)
        #expect([TagPattern]().firstDisallowed(in: TagSet(["a"])) == "a")
    }
}
