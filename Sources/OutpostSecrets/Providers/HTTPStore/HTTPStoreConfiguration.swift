import Foundation

/// The validated options of one `http` (custom store) provider.
struct HTTPStoreConfiguration: Sendable, Equatable {
    /// Where a secret is fetched (`store_url`, required): `{name}` in it is
    /// replaced by the escaped secret name, else the name is appended as path segments.
    var storeURL: String
    /// Where names are listed (`list_url`, default none: listing unsupported); `{prefix}` is replaced by the escaped prefix.
    var listURL: String?
    /// Bearer token sent as `Authorization: Bearer ...` (`token` or `token_file`, default none).
    var bearer: OptionCredential?
    /// A header sent with every request (`header: {name, value | value_file}`, default none).
    var header: (name: String, value: OptionCredential)?
    /// Dotted path of the field holding the secret in the reply (`value_field`, default none:
    /// `{"value": ...}` alone is a single value, any other object is key/values).
    var valueField: [String]?

    static let optionKeys: Set<String> = ["store_url", "list_url", "token", "token_file", "header", "value_field"]

    /// Reads and checks the options.
    /// - Throws: `.invalidConfiguration` naming the key.
    init(options: ProviderOptions) throws(SecretError) {
        try options.rejectUnknownKeys(allowed: Self.optionKeys)
        guard let storeURL = try options.url("store_url") else { throw options.invalid("store_url", "required") }
        if !storeURL.contains("{name}"), storeURL.contains("?") || storeURL.contains("#") {
            throw options.invalid("store_url", "has a query; put {name} where the secret name goes")
        }
        self.storeURL = storeURL
        listURL = try options.url("list_url")
        let hasToken = try options.string("token") != nil
        let hasTokenFile = try options.string("token_file") != nil
        if hasToken || hasTokenFile {
            bearer = try OptionCredential(options, literal: "token", file: "token_file")
        }
        if let section = try options.section("header") {
            try section.rejectUnknownKeys(allowed: ["name", "value", "value_file"])
            let name = try section.require("name")
            guard name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
                throw section.invalid("name", "expected an HTTP header name such as X-Api-Key")
            }
            header = (name, try OptionCredential(section, literal: "value", file: "value_file"))
        }
        if let field = try options.string("value_field") {
            let parts = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !parts.contains(where: \.isEmpty) else {
                throw options.invalid("value_field", "expected a field name or a dotted path such as data.value")
            }
            valueField = parts
        }
    }

    /// The URL of one secret.
    /// - Throws: `.notFound` for a name with empty, `.` or `..` segments when it is appended.
    func url(forName name: String) throws(SecretError) -> String {
        if storeURL.contains("{name}") {
            return storeURL.replacingOccurrences(of: "{name}", with: VaultPath.escapeSegment(name))
        }
        let segments = try VaultPath.split(name, what: "secret name")
        guard !segments.isEmpty else { throw SecretError(.notFound, "the path names no secret") }
        return storeURL + "/" + VaultPath.escape(segments)
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.storeURL == rhs.storeURL && lhs.listURL == rhs.listURL && lhs.bearer == rhs.bearer
            && lhs.header?.name == rhs.header?.name && lhs.header?.value == rhs.header?.value
            && lhs.valueField == rhs.valueField
    }
}
