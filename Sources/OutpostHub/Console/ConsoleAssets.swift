import OutpostCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/assets/console.css` and `/assets/console.js`, bundled with the hub: no build
/// step and nothing fetched from elsewhere.
extension Console {
    func addAssetRoutes(_ router: Router<HubRequestContext>) {
        for asset in ConsoleAsset.allCases {
            on(router, .get, "/assets/\(asset.fileName)", role: nil, session: false) { _ in
                guard let bytes = asset.bytes else {
                    throw HubError(.internal, "the console's \(asset.fileName) is missing from the hub's resources")
                }
                var headers = HTTPFields()
                headers[.contentType] = asset.contentType
                // Pages link them with the hub's version in the URL.
                headers[.cacheControl] = "public, max-age=86400"
                return .response(Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes))))
            }
        }
    }
}

enum ConsoleAsset: String, CaseIterable, Sendable {
    case css = "console.css"
    case script = "console.js"

    var fileName: String { rawValue }

    var contentType: String {
        switch self {
        case .css: "text/css; charset=utf-8"
        case .script: "text/javascript; charset=utf-8"
        }
    }

    /// Read once from the bundle.
    var bytes: [UInt8]? { ConsoleAssetCache.bytes[self] }
}

private enum ConsoleAssetCache {
    static let bytes: [ConsoleAsset: [UInt8]] = {
        var out: [ConsoleAsset: [UInt8]] = [:]
        for asset in ConsoleAsset.allCases {
            let name = (asset.fileName as NSString).deletingPathExtension
            let ext = (asset.fileName as NSString).pathExtension
            guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "console"),
                let data = try? Data(contentsOf: url)
            else { continue }
            out[asset] = Array(data)
        }
        return out
    }()
}
