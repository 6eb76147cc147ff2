import OutpostStore
import OutpostCore

/// The frame of every console page: head, navigation, who is signed in, messages.
enum ConsoleLayout {
    /// Assets are versioned in their URL, so a browser may keep them.
    static let assetVersion = OutpostVersion.current

    static func render(_ page: ConsolePage, user: ConsoleUser?, flash: ConsoleFlash?) -> HTML {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>\(page.title) · Outpost</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/assets/console.css?v=\(assetVersion)">
        <script src="/assets/console.js?v=\(assetVersion)" defer></script>
        </head>
        <body>
        <header class="top">
        <a class="brand" href="/tasks">Outpost</a>
        \(user.map { navigation(user: $0, current: page.section) } ?? .empty)
        </header>
        <main>
        \(messages(flash: flash, error: page.error))
        \(page.body)
        </main>
        </body>
        </html>
        """
    }

    private static func navigation(user: ConsoleUser, current: ConsoleSection?) -> HTML {
        let links = ConsoleSection.allCases.map { section -> HTML in
            let marker: HTML = section == current ? " aria-current=\"page\"" : ""
            return "<a id=\"nav-\(section.rawValue)\" href=\"/\(section.rawValue)\"\(marker)>\(section.label)</a>"
        }
        return """
            <nav id="nav" aria-label="Sections">\(links)</nav>
            <div class="session">
            <span id="whoami">\(user.token.name) <span class="role">\(user.role.rawValue)</span></span>
            <form id="sign-out" method="post" action="/sign-out">\(csrfField(user))<button id="sign-out-submit" type="submit" class="link">Sign out</button></form>
            </div>
            """
    }

    private static func messages(flash: ConsoleFlash?, error: String?) -> HTML {
        var parts: [HTML] = []
        if let error {
            parts.append("<div class=\"flash error\" id=\"flash-error\" role=\"alert\">\(error)</div>")
        } else if let flash, flash.kind == .error {
            parts.append("<div class=\"flash error\" id=\"flash-error\" role=\"alert\">\(flash.message)</div>")
        }
        if let flash, flash.kind == .notice {
            parts.append("<div class=\"flash notice\" id=\"flash-notice\" role=\"status\">\(flash.message)</div>")
        }
        return parts.joined()
    }

    /// The hidden field every form of a session posts.
    static func csrfField(_ user: ConsoleUser) -> HTML {
        "<input type=\"hidden\" name=\"_csrf\" value=\"\(user.csrf)\">"
    }

    /// A form that posts to `action` with one button (drain, cancel, rotate, ...).
    static func actionForm(
        _ user: ConsoleUser, action: String, id: String? = nil, formClass: String? = nil, button: String,
        buttonID: String? = nil, buttonClass: String? = nil, confirm: String? = nil, hidden: [(String, String)] = []
    ) -> HTML {
        let hiddenFields = hidden.map { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\($0.1)\">" as HTML }
        let formID: HTML = id.map { " id=\"\($0)\"" } ?? .empty
        let classAttribute: HTML = formClass.map { " class=\"\($0)\"" } ?? .empty
        let confirmAttribute: HTML = confirm.map { " data-confirm=\"\($0)\"" } ?? .empty
        let buttonIDAttribute: HTML = buttonID.map { " id=\"\($0)\"" } ?? .empty
        let buttonClassAttribute: HTML = buttonClass.map { " class=\"\($0)\"" } ?? .empty
        return """
            <form method="post" action="\(action)"\(formID)\(classAttribute)\(confirmAttribute)>\(csrfField(user))\(hiddenFields)<button type="submit"\(buttonIDAttribute)\(buttonClassAttribute)>\(button)</button></form>
            """
    }
}
