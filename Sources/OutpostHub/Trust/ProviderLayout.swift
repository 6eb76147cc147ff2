/// The provider fingerprint agents report is their secret-provider layout in
/// readable form: `name:type` pairs, sorted, comma-separated (never credentials).
/// This explains how two layouts differ.
enum ProviderLayout {
    /// `name → type` of a fingerprint; malformed pairs are kept whole as a name.
    static func parse(_ fingerprint: String) -> [String: String] {
        var layout: [String: String] = [:]
        for pair in fingerprint.split(separator: ",") where !pair.isEmpty {
            if let colon = pair.lastIndex(of: ":") {
                layout[String(pair[..<colon])] = String(pair[pair.index(after: colon)...])
            } else {
                layout[String(pair)] = ""
            }
        }
        return layout
    }

    /// One sentence per difference, e.g. `provider "vault" is vault here but
    /// aws-secrets-manager on agent "web-01"; provider "gcp" is on agent "web-01" only`.
    static func difference(mine: String, theirs: String, holder: String) -> String {
        let here = parse(mine)
        let there = parse(theirs)
        var parts: [String] = []
        for name in Set(here.keys).union(there.keys).sorted() {
            switch (here[name], there[name]) {
            case (let a?, let b?) where a != b:
                parts.append("provider \"\(name)\" is \(a) here but \(b) on agent \"\(holder)\"")
            case (_?, nil):
                parts.append("provider \"\(name)\" is configured here but not on agent \"\(holder)\"")
            case (nil, _?):
                parts.append("provider \"\(name)\" is configured on agent \"\(holder)\" but not here")
            default:
                break
            }
        }
        if parts.isEmpty { parts.append("the layouts \"\(mine)\" and \"\(theirs)\" differ") }
        return parts.joined(separator: "; ")
    }
}
