/// Which agent may run which target (DESIGN.md, "Routing").
package enum Routing {
    /// A target runs only on agents that carry every tag it names; a target with
    /// no tags runs only on agents with no tags, so an agent holding production
    /// credentials never picks up untagged work by accident.
    package static func agent(withTags agentTags: TagSet, mayRun targetTags: TagSet) -> Bool {
        if targetTags.isEmpty { return agentTags.isEmpty }
        return targetTags.isSubset(of: agentTags)
    }
}
