import Foundation

/// Realistic fake secrets for the masking benchmark, and the ways a task
/// prints them. Deterministic for a given seed; none of these is real.
enum BenchSecrets {
    static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    static let awsAlphabet = alphanumerics + Array("+/".utf8)
    static let base64URLAlphabet = alphanumerics + Array("-_".utf8)
    static let passwordAlphabet = alphanumerics + Array("!@#$%^&*()-_=+[]{};:',.<>/? \"\\".utf8)
    static let hexDigits = Array("0123456789abcdef".utf8)

    /// `count` named secrets: GitHub, AWS, Slack and JWT tokens, passwords
    /// with symbols (12–20 bytes, the shortest), hex API keys, database URLs,
    /// and two multi-line PEM private keys.
    static func make(count: Int, seed: UInt64) -> [(name: String, value: String)] {
        var random = SplitMix64(seed: seed)
        func string(_ alphabet: [UInt8], _ length: Int) -> String {
            String(decoding: (0 ..< length).map { _ in alphabet[random.below(alphabet.count)] }, as: UTF8.self)
        }
        return (0 ..< count).map { i in
            let name = "BENCH_SECRET_\(i)"
            if i % 50 == 42 {
                let body = (0 ..< 25).map { _ in string(awsAlphabet, 64) }.joined(separator: "\n")
                return (name + "_KEY", "-----BEGIN PRIVATE KEY-----\n\(body)\n\(string(awsAlphabet, 24))==\n-----END PRIVATE KEY-----\n")
            }
            switch i % 8 {
            case 0: return (name + "_TOKEN", "ghp_" + string(alphanumerics, 36))
            case 1: return (name + "_SECRET", string(awsAlphabet, 40))
            case 2: return (name + "_PASSWORD", string(passwordAlphabet, 12 + random.below(9)))
            case 3: return (name + "_KEY", string(hexDigits, 32))
            case 4: return (name + "_KEY", string(hexDigits, 64))
            case 5: return (name + "_TOKEN", "xoxb-\(string(hexDigits, 12))-\(string(alphanumerics, 24))")
            case 6:
                let payload = string(base64URLAlphabet, 100 + random.below(60))
                return (name + "_TOKEN", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\(payload).\(string(base64URLAlphabet, 43))")
            default: return (name + "_URL_PASSWORD", "postgres://app:\(string(alphanumerics, 16))@db-\(i).internal:5432/app")
            }
        }
    }

    /// Lines of output that contain a secret: plainly, base64-encoded after a
    /// prefix (HTTP basic auth), URL-encoded, inside JSON, single-quoted.
    static func appearances(of secrets: [(name: String, value: String)]) -> [[UInt8]] {
        secrets.flatMap { _, value -> [[UInt8]] in
            let basic = Data("user:\(value)".utf8).base64EncodedString()
            let url = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
            let json = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            let quoted = value.replacingOccurrences(of: "'", with: "'\\''")
            return [
                "value=\(value)", "Authorization: Basic \(basic)", "curl -d password=\(url) https://example.com/login",
                "{\"password\":\"\(json)\",\"user\":\"app\"}", "psql '\(quoted)'",
            ].map { Array($0.utf8) }
        }
    }
}
