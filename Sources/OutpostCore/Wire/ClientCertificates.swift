package import Foundation

/// A client certificate the hub issued to an agent whose type requires one
/// (`--require-client-cert`): at registration, and again on renewal.
package struct ClientCertificateGrant: Codable, Sendable, Equatable {
    /// PEM: the agent's certificate; its URI SAN names the agent (`ClientCertificateGrant.uri(agentID:)`).
    package var certificate: String
    /// PEM: the CA certificates that sign agents' certificates now (two during a rotation).
    package var caCertificates: String
    package var notValidAfter: Date
    /// When the agent should ask for the next one: two thirds into the lifetime.
    package var renewAfter: Date

    package init(certificate: String, caCertificates: String, notValidAfter: Date, renewAfter: Date) {
        self.certificate = certificate
        self.caCertificates = caCertificates
        self.notValidAfter = notValidAfter
        self.renewAfter = renewAfter
    }

    enum CodingKeys: String, CodingKey {
        case certificate
        case caCertificates = "ca_certificates"
        case notValidAfter = "not_valid_after"
        case renewAfter = "renew_after"
    }

    /// The URI SAN that names an agent in its certificate.
    package static func uri(agentID: String) -> String { "outpost://agent/\(agentID)" }
}

/// Body of `POST /api/v1/agent/certificate`: renews the calling agent's client
/// certificate, over a connection that presents the current one.
package struct CertificateRenewalRequest: Codable, Sendable, Equatable {
    /// PEM certificate signing request for the agent's key.
    package var certificateSigningRequest: String

    package init(certificateSigningRequest: String) {
        self.certificateSigningRequest = certificateSigningRequest
    }

    enum CodingKeys: String, CodingKey {
        case certificateSigningRequest = "csr"
    }
}

/// `GET /api/v1/ca` and the answer to `POST /api/v1/ca/rotate`: the CA that signs
/// agents' client certificates and, during a rotation, the one before it.
package struct AgentCAStatus: Codable, Sendable, Equatable {
    package struct Authority: Codable, Sendable, Equatable {
        package var subject: String
        package var notValidAfter: Date
        /// The previous CA only: until when certificates it signed are accepted.
        package var trustedUntil: Date?

        package init(subject: String, notValidAfter: Date, trustedUntil: Date? = nil) {
            self.subject = subject
            self.notValidAfter = notValidAfter
            self.trustedUntil = trustedUntil
        }

        enum CodingKeys: String, CodingKey {
            case subject
            case notValidAfter = "not_valid_after"
            case trustedUntil = "trusted_until"
        }
    }

    package var current: Authority
    package var previous: Authority?
    /// Lifetime of the certificates it issues, in seconds.
    package var certificateLifetimeSeconds: Double

    package init(current: Authority, previous: Authority?, certificateLifetimeSeconds: Double) {
        self.current = current
        self.previous = previous
        self.certificateLifetimeSeconds = certificateLifetimeSeconds
    }

    enum CodingKeys: String, CodingKey {
        case current, previous
        case certificateLifetimeSeconds = "certificate_lifetime_seconds"
    }
}
