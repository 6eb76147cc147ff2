import Foundation

/// Body of `POST /api/v1/tasks`.
package struct CreateTaskRequest: Codable, Sendable, Equatable {
    package var target: String
    package var script: String
    /// Overrides the target's timeout; `nil` means the target's or the hub's default.
    package var timeoutSeconds: Int?
    /// The task's id, chosen by the client (`tsk_` and 16 to 64 characters of
    /// `[0-9a-z]`); `nil` lets the hub choose. A signed task names its id in the
    /// signature, so it must choose it.
    package var id: String?
    /// The submitter's signature of the task (signed tasks, docs/signed-tasks.md);
    /// stored with the task and handed to the agent unchanged.
    package var signature: SignedTaskEnvelope?

    package init(
        target: String, script: String, timeoutSeconds: Int? = nil, id: String? = nil,
        signature: SignedTaskEnvelope? = nil
    ) {
        self.target = target
        self.script = script
        self.timeoutSeconds = timeoutSeconds
        self.id = id
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case target, script, id, signature
        case timeoutSeconds = "timeout_seconds"
    }
}

/// Body of `POST /api/v1/agent-types`. Everything but `name` is optional.
package struct CreateAgentTypeRequest: Codable, Sendable, Equatable {
    package var name: String
    /// `agent` (default) or `aws-sts`.
    package var namePolicy: AgentType.NamePolicy?
    /// Required with `aws-sts`.
    package var aws: AWSNamingRules?
    /// Seconds a disconnected agent's name stays reserved; 0 or absent releases it at once.
    package var nameReleaseSeconds: Double?
    package var exclusive: Bool?
    /// Tags (or `*` globs) its agents may carry. Absent or empty: only agents
    /// without tags may register (deny by default); `["*"]` allows any tag.
    package var allowedTags: [String]?
    /// Its agents must present a hub-issued client certificate (mutual TLS). Default false.
    package var requireClientCertificate: Bool?
    /// The signed-task mode its agents are asked to enforce (`off`, `warn`, `require`). Default `off`.
    package var signedTasks: SignedTaskMode?

    package init(
        name: String, namePolicy: AgentType.NamePolicy? = nil, aws: AWSNamingRules? = nil,
        nameReleaseSeconds: Double? = nil, exclusive: Bool? = nil, allowedTags: [String]? = nil,
        requireClientCertificate: Bool? = nil, signedTasks: SignedTaskMode? = nil
    ) {
        self.name = name
        self.namePolicy = namePolicy
        self.aws = aws
        self.nameReleaseSeconds = nameReleaseSeconds
        self.exclusive = exclusive
        self.allowedTags = allowedTags
        self.requireClientCertificate = requireClientCertificate
        self.signedTasks = signedTasks
    }

    enum CodingKeys: String, CodingKey {
        case name, aws, exclusive
        case signedTasks = "signed_tasks"
        case namePolicy = "name_policy"
        case nameReleaseSeconds = "name_release_seconds"
        case allowedTags = "allowed_tags"
        case requireClientCertificate = "require_client_cert"
    }
}

/// Body of `PATCH /api/v1/agent-types/{name}`: the fields to change; absent ones stay.
package struct UpdateAgentTypeRequest: Codable, Sendable, Equatable {
    /// Replaces the type's allowed tags. Online agents of the type with a tag the
    /// new list does not allow are drained; every later registration is checked.
    package var allowedTags: [String]?
    /// Changes the signed-task mode its agents are asked to enforce; agents online take
    /// it at their next registration.
    package var signedTasks: SignedTaskMode?

    package init(allowedTags: [String]? = nil, signedTasks: SignedTaskMode? = nil) {
        self.allowedTags = allowedTags
        self.signedTasks = signedTasks
    }

    enum CodingKeys: String, CodingKey {
        case allowedTags = "allowed_tags"
        case signedTasks = "signed_tasks"
    }
}

/// Answer to creating an agent type or rotating its token: the only time the
/// registration token is shown.
package struct AgentTypeTokenResponse: Codable, Sendable, Equatable {
    package var agentType: AgentType
    package var registrationToken: String

    package init(agentType: AgentType, registrationToken: String) {
        self.agentType = agentType
        self.registrationToken = registrationToken
    }

    enum CodingKeys: String, CodingKey {
        case agentType = "agent_type"
        case registrationToken = "registration_token"
    }
}

/// `{"items": [...]}`: every list answer has this shape so it can grow paging later.
package struct ListResponse<Item: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    package var items: [Item]
    package init(items: [Item]) { self.items = items }
}

/// Answer of `GET /api/v1/tasks`: one page, newest first, and the cursor of the next
/// one (`after=`); `next` is left out on the last page.
package struct TaskListResponse: Codable, Sendable, Equatable {
    package var items: [TaskRecord]
    /// Opaque; pass it back as `after` for the next page. `nil`: this page is the last.
    package var next: String?

    package init(items: [TaskRecord], next: String?) {
        self.items = items
        self.next = next
    }
}

/// Body of `PUT /api/v1/targets/{name}`: the body `POST /api/v1/targets` takes, whose
/// `name` may be left out (the path names the target).
package struct ReplaceTargetRequest: Decodable, Sendable, Equatable {
    /// When given, it must be the path's name: a target is not renamed.
    package var name: String?
    /// The new settings, named `name` or `""` when it was left out.
    package var target: Target

    package init(name: String?, target: Target) {
        self.name = name
        self.target = target
    }

    /// Reads the fields `Target` reads, with the same defaults.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Target.CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        target = Target(
            name: name ?? "",
            integration: try c.decode(String.self, forKey: .integration),
            tags: try c.decodeIfPresent(TagSet.self, forKey: .tags) ?? .empty,
            agentTypes: try c.decodeIfPresent([String].self, forKey: .agentTypes) ?? [],
            env: try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:],
            secrets: try c.decodeIfPresent([SecretReference].self, forKey: .secrets) ?? [],
            timeoutSeconds: try c.decodeIfPresent(Int.self, forKey: .timeoutSeconds),
            createdAt: try c.decodeIfPresent(Date.self, forKey: .createdAt) ?? Date())
    }

    /// The target the body describes, named `name` when the body did not say.
    package func target(named name: String) -> Target {
        var target = self.target
        if self.name == nil { target.name = name }
        return target
    }
}

/// The error body of every failed API call: `{"error": {"code": "...", "message": "..."}}`.
package struct APIErrorBody: Codable, Sendable, Equatable {
    package struct Detail: Codable, Sendable, Equatable {
        /// Stable machine-readable code, e.g. `not_found`, `invalid_request`.
        package var code: String
        /// One human sentence saying what was wrong and what to do.
        package var message: String
        /// For `log_gap`: the offset the hub expects next.
        package var expectedOffset: Int64?

        package init(code: String, message: String, expectedOffset: Int64? = nil) {
            self.code = code
            self.message = message
            self.expectedOffset = expectedOffset
        }

        enum CodingKeys: String, CodingKey {
            case code, message
            case expectedOffset = "expected_offset"
        }
    }

    package var error: Detail
    package init(code: String, message: String, expectedOffset: Int64? = nil) {
        error = Detail(code: code, message: message, expectedOffset: expectedOffset)
    }
}
