/// Quoting of untrusted text (key ids, payload types) in messages: bounded and
/// printable, so a hostile envelope cannot flood or forge log lines.
package enum SigningText {
    package static func quote(_ text: String, limit: Int = 64) -> String {
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit).map {
            $0.properties.generalCategory == .control ? "?" : $0
        }))
        return "\"\(printable)\(text.unicodeScalars.count > limit ? "…" : "")\""
    }
}
