/// Text a message quotes from an untrusted party (key ids, payload types, token
/// claims): bounded and printable, with quotes and control characters shown as `?`,
/// so a hostile value cannot flood a log or forge a line or a field of it.
package enum UntrustedText {
    package static func quote(_ text: String, limit: Int = 64) -> String {
        var shown = String(text.unicodeScalars.prefix(limit).map { scalar -> Character in
            scalar.properties.generalCategory == .control || scalar == "\"" ? "?" : Character(scalar)
        })
        if text.unicodeScalars.count > limit { shown += "…" }
        return "\"\(shown)\""
    }
}
