/// Generates realistic CI/server log text: timestamps, levels, HTTP lines, SQL,
/// JSON log lines, compiler output, stack frames and random base64 blobs (which
/// look like the base64 patterns a masker searches for), with a secret
/// printed in some encoded form every `secretEvery` lines on average.
/// Deterministic for a given seed.
struct LogTextGenerator {
    /// The secrets as they may appear in a line (plain, base64, URL, JSON, shell forms).
    let secretLines: [[UInt8]]
    /// About one line in this many carries a secret.
    let secretEvery: Int
    private var random: SplitMix64
    /// Lines with a secret written so far.
    private(set) var secretsWritten = 0

    init(secretLines: [[UInt8]], secretEvery: Int, seed: UInt64) {
        self.secretLines = secretLines
        self.secretEvery = secretEvery
        random = SplitMix64(seed: seed)
    }

    static let words = """
        build deploy worker cache artifact upload download request response handler queue scheduler agent runner \
        target task session token refresh retry backoff timeout connect socket stream buffer flush commit rollback \
        migrate index table column schema user account billing invoice payment order cart checkout inventory \
        report metrics export import parse render template config loader plugin module package version release \
        staging production canary cluster node pod container image registry volume mount network ingress service
        """.split(separator: " ").map { Array($0.utf8) }
    static let levels = ["INFO ", "DEBUG", "WARN ", "ERROR", "INFO ", "INFO "].map { Array($0.utf8) }
    static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends whole lines to `output` until it holds at least `count` bytes.
    mutating func fill(_ output: inout [UInt8], upTo count: Int) {
        while output.count < count { appendLine(to: &output) }
    }

    mutating func appendLine(to out: inout [UInt8]) {
        if random.below(secretEvery) == 0 {
            secretsWritten += 1
            out += Array("+ echo configuring ".utf8)
            out += secretLines[random.below(secretLines.count)]
            out.append(10)
            return
        }
        appendTimestamp(to: &out)
        switch random.below(10) {
        case 0, 1:
            out += Array(" INFO  [http] GET /api/v1/tasks/".utf8)
            appendHex(16, to: &out)
            out += Array(" 200 ".utf8)
            appendNumber(random.below(900) + 1, to: &out)
            out += Array("ms bytes=".utf8)
            appendNumber(random.below(90_000), to: &out)
        case 2:
            out += Array(" DEBUG [db] query took ".utf8)
            appendNumber(random.below(200), to: &out)
            out += Array("ms sql=\"SELECT id, name FROM ".utf8)
            appendWord(to: &out)
            out += Array(" WHERE org_id = ".utf8)
            appendNumber(random.below(100_000), to: &out)
            out += Array("\"".utf8)
        case 3:
            out += Array(" {\"level\":\"info\",\"msg\":\"".utf8)
            appendWord(to: &out)
            out.append(32)
            appendWord(to: &out)
            out += Array(" finished\",\"duration_ms\":".utf8)
            appendNumber(random.below(5000), to: &out)
            out += Array(",\"trace_id\":\"".utf8)
            appendHex(32, to: &out)
            out += Array("\"}".utf8)
        case 4:
            out += Array(" WARN  [client] retrying https://api.example.com/v2/".utf8)
            appendWord(to: &out)
            out += Array("?page=".utf8)
            appendNumber(random.below(50), to: &out)
            out += Array(" after connection reset (attempt ".utf8)
            appendNumber(random.below(5) + 1, to: &out)
            out += Array(")".utf8)
        case 5:
            out += Array(" [".utf8)
            appendNumber(random.below(400), to: &out)
            out += Array("/400] Compiling ".utf8)
            appendWord(to: &out)
            appendWord(to: &out)
            out += Array(".swift".utf8)
        case 6:
            out += Array(" data: ".utf8)
            for _ in 0 ..< 48 + random.below(32) { out.append(Self.base64Alphabet[random.below(64)]) }
        case 7:
            out += Array("     at com.example.".utf8)
            appendWord(to: &out)
            out += Array(".Handler.".utf8)
            appendWord(to: &out)
            out += Array("(Handler.java:".utf8)
            appendNumber(random.below(900), to: &out)
            out += Array(")".utf8)
        default:
            out.append(32)
            out += Self.levels[random.below(Self.levels.count)]
            out += Array(" [".utf8)
            appendWord(to: &out)
            out += Array("] ".utf8)
            for _ in 0 ..< 4 + random.below(8) {
                appendWord(to: &out)
                out.append(32)
            }
            out += Array("id=".utf8)
            appendHex(8, to: &out)
        }
        out.append(10)
    }

    private mutating func appendTimestamp(to out: inout [UInt8]) {
        out += Array("2026-11-22T0".utf8)
        appendNumber(random.below(10), to: &out)
        out.append(58)
        appendTwoDigits(random.below(60), to: &out)
        out.append(58)
        appendTwoDigits(random.below(60), to: &out)
        out.append(46)
        appendNumber(100 + random.below(900), to: &out)
        out.append(90)
    }

    private mutating func appendWord(to out: inout [UInt8]) {
        out += Self.words[random.below(Self.words.count)]
    }

    private mutating func appendHex(_ count: Int, to out: inout [UInt8]) {
        for _ in 0 ..< count { out.append(Self.hexDigits[random.below(16)]) }
    }

    private func appendTwoDigits(_ value: Int, to out: inout [UInt8]) {
        out.append(48 + UInt8(value / 10))
        out.append(48 + UInt8(value % 10))
    }

    private func appendNumber(_ value: Int, to out: inout [UInt8]) {
        out += Array(String(value).utf8)
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0 ..< bound` (bound > 0), with negligible bias.
    mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: (next() >> 11) % UInt64(bound))
    }
}
