import Foundation

/// A CA and a certificate for the hub on 127.0.0.1, made with `openssl` as an
/// operator would (docs/operations.md, "TLS"): P-256 keys, one run's lifetime.
enum BenchCertificates {
    static func make(in directory: ScratchDirectory) throws -> (ca: String, certificate: String, key: String) {
        let ca = directory.file("ca.crt")
        let caKey = directory.file("ca.key")
        let certificate = directory.file("hub.crt")
        let key = directory.file("hub.key")
        let request = directory.file("hub.csr")
        let extensions = directory.file("hub.ext")
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
            .write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=Outpost bench CA", "-keyout", caKey, "-out", ca,
        ])
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
            "-keyout", key, "-out", request,
        ])
        try openssl([
            "x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "2",
            "-extfile", extensions, "-out", certificate,
        ])
        return (ca, certificate, key)
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("openssl \(arguments.prefix(2).joined(separator: " ")) failed (exit \(process.terminationStatus))")
        }
    }
}
