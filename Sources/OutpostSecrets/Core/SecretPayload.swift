/// A secret as a provider returned it, before it is split into keys.
///
/// `description` never shows the value, so a payload that slips into a log line
/// or a test failure message reveals nothing.
package enum SecretPayload: Sendable, Equatable, CustomStringConvertible {
    /// Text: a JSON object of key/values, or a single value.
    case text(String)
    /// Raw bytes (AWS `SecretBinary`, a GCP payload that is not UTF-8).
    case binary([UInt8])

    package var description: String {
        switch self {
        case .text(let value): "SecretPayload.text(<\(value.utf8.count) bytes hidden>)"
        case .binary(let bytes): "SecretPayload.binary(<\(bytes.count) bytes hidden>)"
        }
    }
}
