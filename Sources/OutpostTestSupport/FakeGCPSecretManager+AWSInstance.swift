import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// An EC2 instance's metadata service, as an AWS-sourced external account reads it
/// (`region_url`, `url`, `imdsv2_session_token_url`), with IMDSv1 off: every
/// `GET /latest/meta-data/...` needs the session token from `PUT /latest/api/token`.
extension FakeGCPSecretManager {
    struct AWSInstance {
        var zone = "us-east-2b"
        var role = "outpost-agent"
        /// The role's temporary credentials (`nil`: the instance has no role).
        var credentials: (accessKeyID: String, secretAccessKey: String, sessionToken: String)?
        var sessionTokens: Set<String> = []
        var counts = AWSInstanceCounts()
    }

    /// What the instance metadata service answered.
    package struct AWSInstanceCounts: Sendable, Equatable {
        package var sessionTokens = 0
        package var zoneRequests = 0
        package var credentialRequests = 0
        /// Metadata requests refused for a missing or unknown session token.
        package var refused = 0
    }

    /// The instance's role credentials and availability zone; the role's keys are also
    /// what the pool provider `audience` accepts.
    package func setAWSInstance(
        accessKeyID: String, secretAccessKey: String, sessionToken: String, zone: String = "us-east-2b", audience: String
    ) {
        state.withLock { state in
            state.awsInstance.credentials = (accessKeyID, secretAccessKey, sessionToken)
            state.awsInstance.zone = zone
        }
        allowAWS(
            accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken,
            arn: "arn:aws:sts::123456789012:assumed-role/outpost-agent/i-0123456789abcdef0", audience: audience)
    }

    package var awsInstanceCounts: AWSInstanceCounts { state.withLock { $0.awsInstance.counts } }

    func addAWSInstanceRoutes(_ router: Router<BasicRequestContext>) {
        router.put("/latest/api/token") { request, _ -> Response in
            guard let ttl = FakeCloud.header(request, "X-aws-ec2-metadata-token-ttl-seconds"), let seconds = Int(ttl),
                (1...21_600).contains(seconds)
            else { return FakeCloud.text(.badRequest, "") }
            let token = FakeCloud.randomToken(prefix: "imds-")
            self.state.withLock { state in
                state.awsInstance.sessionTokens.insert(token)
                state.awsInstance.counts.sessionTokens += 1
            }
            return FakeCloud.text(.ok, token)
        }
        router.get("/latest/meta-data/placement/availability-zone") { request, _ -> Response in
            self.instanceMetadata(request) { instance in
                instance.counts.zoneRequests += 1
                return FakeCloud.text(.ok, instance.zone)
            }
        }
        let credentialsPath = "/latest/meta-data/iam/security-credentials"
        router.get(RouterPath(credentialsPath)) { request, _ -> Response in
            self.instanceMetadata(request) { instance in
                instance.credentials == nil ? FakeCloud.text(.notFound, "") : FakeCloud.text(.ok, instance.role + "\n")
            }
        }
        router.get(RouterPath(credentialsPath + "/:role")) { request, context -> Response in
            let role = context.parameters.get("role") ?? ""
            return self.instanceMetadata(request) { instance in
                guard role == instance.role, let credentials = instance.credentials else {
                    return FakeCloud.text(.notFound, "")
                }
                instance.counts.credentialRequests += 1
                let formatter = ISO8601DateFormatter()
                return FakeCloud.json(
                    .ok,
                    [
                        "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": credentials.accessKeyID,
                        "SecretAccessKey": credentials.secretAccessKey, "Token": credentials.sessionToken,
                        "Expiration": formatter.string(from: Date().addingTimeInterval(3600)),
                        "LastUpdated": formatter.string(from: Date()),
                    ])
            }
        }
    }

    private func instanceMetadata(_ request: Request, _ answer: (inout AWSInstance) -> Response) -> Response {
        let token = FakeCloud.header(request, "X-aws-ec2-metadata-token") ?? ""
        return state.withLock { state in
            guard state.awsInstance.sessionTokens.contains(token) else {
                state.awsInstance.counts.refused += 1
                return FakeCloud.text(.unauthorized, "")
            }
            return answer(&state.awsInstance)
        }
    }
}
