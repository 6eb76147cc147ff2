/// Random identifiers and readable agent names.
package enum Identifiers {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)  // Crockford base32, lowercase

    /// A new unique id with a type prefix, e.g. `tsk_8f3k2m9q1v7c4x6b0n5d`.
    package static func make(prefix: String) -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        for _ in 0..<20 { bytes.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
        return prefix + "_" + String(decoding: bytes, as: UTF8.self)
    }

    private static let adjectives = [
        "amber", "brave", "calm", "clever", "crisp", "eager", "fuzzy", "gentle", "golden", "happy", "jolly",
        "keen", "lively", "lucky", "mellow", "nimble", "plucky", "quick", "quiet", "rapid", "rustic", "sharp",
        "silent", "silver", "steady", "sunny", "swift", "tidy", "vivid", "witty",
    ]
    private static let nouns = [
        "badger", "beacon", "falcon", "ferret", "gecko", "heron", "ibex", "jackal", "koala", "lynx", "marten",
        "otter", "panda", "puffin", "quokka", "raven", "salmon", "tapir", "tern", "walrus", "wombat", "yak",
        "beaver", "condor", "dingo", "egret", "finch", "gopher", "hound", "osprey",
    ]

    /// A random readable agent name such as `brave-otter-3f9a` (always a valid agent name).
    package static func readableAgentName() -> String {
        var rng = SystemRandomNumberGenerator()
        let suffix = String(UInt16.random(in: 0...UInt16.max, using: &rng), radix: 16)
        let padded = String(repeating: "0", count: 4 - suffix.count) + suffix
        return "\(adjectives.randomElement(using: &rng)!)-\(nouns.randomElement(using: &rng)!)-\(padded)"
    }

    /// A bearer token with 256 bits of randomness and a readable prefix naming its kind.
    package static func token(prefix: String) -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        for _ in 0..<52 { bytes.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
        return prefix + "_" + String(decoding: bytes, as: UTF8.self)
    }
}
