/// Which agent may run which target (DESIGN.md, "Routing"). The dispatcher's
/// queue and waiting polls and the store's claim all ask this one type.
package enum Routing {
    /// A target runs only on agents that carry every tag it names; a target with
    /// no tags runs only on agents with no tags, so an agent holding production
    /// credentials never picks up untagged work by accident.
    package static func agent(withTags agentTags: TagSet, mayRun targetTags: TagSet) -> Bool {
        if targetTags.isEmpty { return agentTags.isEmpty }
        return targetTags.isSubset(of: agentTags)
    }

    /// The whole rule: a target pinned to agent types runs only on agents of one
    /// of them, and the tag rule above applies as well. Tags alone cannot be
    /// trusted across pools, because each pool's registration token decides what
    /// its agents claim to be; the type is what the hub itself vouches for.
    package static func agent(_ agent: AgentRoute, mayRun task: TaskRoute) -> Bool {
        guard task.agentTypes.isEmpty || task.agentTypes.contains(agent.type) else { return false }
        return Self.agent(withTags: agent.tags, mayRun: task.tags)
    }
}

/// What a task asks of the agent that runs it: its target's tags and pinned agent types.
package struct TaskRoute: Sendable, Hashable, CustomStringConvertible {
    package let tags: TagSet
    /// Sorted, without duplicates; empty means any agent type.
    package let agentTypes: [String]

    package init(tags: TagSet, agentTypes: [String] = []) {
        self.tags = tags
        self.agentTypes = Array(Set(agentTypes)).sorted()
    }

    /// `tags` alone, or `tags` and `types a,b` (logs and errors).
    package var description: String {
        let tags = tags.isEmpty ? "no tags" : "tags \(tags)"
        return agentTypes.isEmpty ? tags : "\(tags), agent types \(agentTypes.joined(separator: ","))"
    }
}

/// What an agent offers: its type and its tags.
package struct AgentRoute: Sendable, Hashable {
    package let type: String
    package let tags: TagSet

    package init(type: String, tags: TagSet) {
        self.type = type
        self.tags = tags
    }
}
