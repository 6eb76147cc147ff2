package import Foundation

/// Where the hub's PostgreSQL database is and how to reach it, parsed from a
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…&sslrootcert=FILE]` URL.
///
/// The password comes from the URL, else `PGPASSWORD`, else a file (the
/// `database_password_file` key): the three places operators keep one. It never
/// appears in `description` or any error.
package struct PostgresSettings: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is encrypted, with libpq's names and meanings.
    package enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without verifying the certificate; plain otherwise (libpq's default).
        case prefer
        /// TLS, without verifying the certificate (libpq: verified against `sslrootcert` when one is given).
        case require
        /// TLS, the chain verified against `sslrootcert` (or the system store), any host name.
        case verifyCA = "verify-ca"
        /// TLS, the chain and the host name verified.
        case verifyFull = "verify-full"
    }

    package var host: String
    package var port: Int
    package var user: String
    package var password: String?
    package var database: String
    package var sslMode: SSLMode
    /// PEM file of the CA that signed the server's certificate (`sslrootcert`).
    package var sslRootCertificate: String?
    /// Connections this replica keeps at most (`pool_size`, or the `database_pool_size` key). Default 10.
    package var poolSize: Int
    /// How long opening one connection may take before it is an error. Default 10 s.
    package var connectTimeout: Duration
    /// The schema (`search_path`) the hub's tables live in; `nil`: the user's default. For tests and shared databases.
    package var schema: String?

    package static let defaultPort = 5432
    package static let defaultPoolSize = 10

    package init(
        host: String, port: Int = defaultPort, user: String, password: String? = nil, database: String,
        sslMode: SSLMode = .prefer, sslRootCertificate: String? = nil, poolSize: Int = defaultPoolSize,
        connectTimeout: Duration = .seconds(10), schema: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.sslRootCertificate = sslRootCertificate
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.schema = schema
    }

    /// The URL without its password: what logs and errors show.
    package var description: String {
        var query: [String] = []
        if sslMode != .prefer { query.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCertificate { query.append("sslrootcert=\(sslRootCertificate)") }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let suffix = query.isEmpty ? "" : "?" + query.joined(separator: "&")
        return "postgres://\(user)@\(hostPart):\(port)/\(database)\(suffix)"
    }

    /// Whether `text` asks for PostgreSQL (rather than being, say, an SQLite path).
    package static func isPostgresURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// Parses `url`, taking the password from it, else `PGPASSWORD` in `environment`,
    /// else `passwordFile` (its first line).
    /// - Throws: `PostgresSettings.Error` naming what is wrong, never echoing a password.
    package init(url: String, environment: [String: String] = [:], passwordFile: String? = nil) throws(Error) {
        guard Self.isPostgresURL(url) else {
            throw Error("\"\(Self.redacted(url))\" is not a postgres:// URL")
        }
        guard let components = URLComponents(string: url) else {
            throw Error("\(Self.redacted(url)) is not a valid URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw Error("\(Self.redacted(url)) names no host (postgres://USER@HOST:PORT/DATABASE)")
        }
        guard let user = components.user.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw Error("\(Self.redacted(url)) names no user (postgres://USER@HOST:PORT/DATABASE)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw Error("\(Self.redacted(url)) names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        let port = components.port ?? Self.defaultPort
        guard (1...65535).contains(port) else { throw Error("port \(port) is not in 1...65535") }
        self.init(
            host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port, user: user,
            database: database.removingPercentEncoding ?? database)
        try applyQuery(components.queryItems ?? [])
        password = try Self.password(
            fromURL: components.password.map { $0.removingPercentEncoding ?? $0 }, environment: environment,
            file: passwordFile)
    }

    private mutating func applyQuery(_ items: [URLQueryItem]) throws(Error) {
        for item in items {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    let known = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw Error("sslmode \"\(value)\" is not one of \(known)")
                }
                sslMode = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw Error("sslrootcert names no file") }
                sslRootCertificate = value
            case "pool_size":
                guard let size = Int(value), (1...1_000).contains(size) else {
                    throw Error("pool_size \"\(value)\" is not a whole number from 1 to 1000")
                }
                poolSize = size
            case "connect_timeout":
                // libpq's spelling: whole seconds.
                guard let seconds = Int(value), (1...600).contains(seconds) else {
                    throw Error("connect_timeout \"\(value)\" is not a whole number of seconds from 1 to 600")
                }
                connectTimeout = .seconds(seconds)
            case "search_path", "schema":
                guard Self.isPlainIdentifier(value) else {
                    throw Error("schema \"\(value)\" must be letters, digits and underscores")
                }
                schema = value
            default:
                throw Error(
                    "unknown URL parameter \"\(item.name)\" (known: sslmode, sslrootcert, pool_size, connect_timeout, schema)")
            }
        }
        if sslRootCertificate != nil, sslMode == .disable {
            throw Error("sslrootcert is given but sslmode=disable turns TLS off")
        }
    }

    private static func password(
        fromURL: String?, environment: [String: String], file: String?
    ) throws(Error) -> String? {
        if let fromURL, !fromURL.isEmpty { return fromURL }
        if let fromEnvironment = environment["PGPASSWORD"], !fromEnvironment.isEmpty { return fromEnvironment }
        guard let file else { return nil }
        let contents: String
        do {
            contents = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw Error("cannot read the database password file \(file): \((error as NSError).localizedDescription)")
        }
        let line = contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let password = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !password.isEmpty else { throw Error("the database password file \(file) is empty") }
        return password
    }

    /// Letters, digits and underscores, not starting with a digit: safe to splice into SQL unquoted.
    package static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !CharacterSet.decimalDigits.contains(first) else { return false }
        return name.count <= 63
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }
    }

    /// `url` with any password replaced by `***`, for messages about a URL that did not parse.
    package static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url.range(of: "@", range: scheme.upperBound..<url.endIndex)
        else { return url }
        let userInfo = url[scheme.upperBound..<at.lowerBound]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at.lowerBound...])
    }

    package struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        package var message: String
        package init(_ message: String) { self.message = message }
        package var description: String { message }
    }
}
