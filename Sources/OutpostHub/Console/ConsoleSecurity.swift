import HTTPTypes
import Hummingbird

/// The headers every console answer carries, and the same-origin check of every
/// state-changing request.
///
/// The console's scripts and styles are files under `/assets/` only, so the policy
/// can forbid inline script and style outright: an injected `<script>` or event
/// attribute does not run even if escaping were ever missed.
enum ConsoleSecurity {
    static let contentSecurityPolicy = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// Added to every console answer (pages, assets, logs, event streams).
    static func apply(to headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xFrameOptions] = "DENY"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        headers[.crossOriginOpenerPolicy] = "same-origin"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }

    /// Why a POST is refused as cross-site, or `nil` when it came from the console's
    /// own pages. Browsers send `Sec-Fetch-Site` with every form post (older ones only
    /// `Origin`, compared with the request's host); a client that sends neither still
    /// needs the CSRF token, which only a page of this session holds.
    static func crossSiteReason(_ request: Request) -> String? {
        if let site = request.headers[.secFetchSite] {
            // The browser itself says where the request came from; its `Origin` is then
            // `null` on the console's own forms (the pages' Referrer-Policy is no-referrer).
            return site == "same-origin" ? nil : "the request came from another site (Sec-Fetch-Site: \(site))"
        }
        guard let origin = request.headers[.origin] else { return nil }
        // HTTP/1's Host header becomes the request's authority; a request built otherwise may keep it as a field.
        guard let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] else {
            return "the request names no host to compare its Origin with"
        }
        let own = origin.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init)
        guard origin.hasPrefix("http://") || origin.hasPrefix("https://"), own?.lowercased() == host.lowercased() else {
            return "the request came from another origin (\(origin))"
        }
        return nil
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let crossOriginOpenerPolicy = Self("Cross-Origin-Opener-Policy")!
    static let secFetchSite = Self("Sec-Fetch-Site")!
}
