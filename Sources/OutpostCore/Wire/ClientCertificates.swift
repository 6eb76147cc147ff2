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
