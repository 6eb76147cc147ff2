extension GCPSecretManagerProvider {
    /// What a path names: an optional project, where the secret lives, its id and the version.
    struct Reference: Equatable {
        var project: String?
        var location: Location = .configured
        var secret: String
        var version: String

        init(project: String?, location: Location = .configured, secret: String, version: String) {
            self.project = project
            self.location = location
            self.secret = secret
            self.version = version
        }
    }

    /// Where a secret lives: Secret Manager's global service, or a regional one
    /// (`locations/LOCATION`, served at `secretmanager.LOCATION.rep.googleapis.com`).
    enum Location: Equatable {
        /// The provider's `location` option (global when it has none): `NAME`, `NAME@VERSION`.
        case configured
        /// `projects/P/secrets/S...`: a global secret's full name.
        case global
        /// `projects/P/locations/L/secrets/S...`: a regional secret's full name.
        case regional(String)
    }

    static let pathUsage =
        "use NAME, NAME@VERSION, projects/PROJECT/secrets/NAME[/versions/VERSION] "
        + "or projects/PROJECT/locations/LOCATION/secrets/NAME[/versions/VERSION]"

    /// Splits a path (see the type's documentation).
    /// - Throws: `.notFound` for a path no Secret Manager secret can have.
    static func parse(_ path: String) throws(SecretError) -> Reference {
        let usage = pathUsage
        var reference: Reference
        if path.hasPrefix("projects/") {
            var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            var location = Location.global
            if parts.count >= 4, parts[2] == "locations" {
                location = .regional(parts[3])
                parts.removeSubrange(2...3)
            }
            switch parts.count {
            case 4 where parts[2] == "secrets":
                reference = Reference(project: parts[1], location: location, secret: parts[3], version: "latest")
            case 6 where parts[2] == "secrets" && parts[4] == "versions":
                reference = Reference(project: parts[1], location: location, secret: parts[3], version: parts[5])
            default:
                throw SecretError(.notFound, "not a Secret Manager path; \(usage)")
            }
        } else {
            let parts = path.split(separator: "@", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(parts.count) else { throw SecretError(.notFound, "not a Secret Manager path; \(usage)") }
            reference = Reference(project: nil, secret: parts[0], version: parts.count == 2 ? parts[1] : "latest")
        }
        guard reference.secret.count <= 255, CloudText.isPlain(reference.secret, extra: "-_") else {
            throw SecretError(.notFound, "not a Secret Manager secret id (1-255 letters, digits, '-' and '_'); \(usage)")
        }
        guard reference.version.count <= 63, CloudText.isPlain(reference.version, extra: "-_") else {
            throw SecretError(.notFound, "not a Secret Manager version (a number, latest, or an alias); \(usage)")
        }
        if let project = reference.project, project.count > 100 || !CloudText.isPlain(project, extra: "-.:") {
            throw SecretError(.notFound, "not a Google Cloud project id or number; \(usage)")
        }
        if case .regional(let location) = reference.location, !isLocation(location) {
            throw SecretError(.notFound, "not a Google Cloud location (such as us-east4); \(usage)")
        }
        return reference
    }

    /// A location id: lower-case letters, digits and `-` (`us-east4`, `europe-west1`).
    static func isLocation(_ text: String) -> Bool {
        text.count <= 63 && CloudText.isPlain(text, extra: "-") && text == text.lowercased()
    }
}
