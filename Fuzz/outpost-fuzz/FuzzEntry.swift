// outpost-fuzz: libFuzzer harnesses for what a client sends the hub. Built only by
// `scripts/fuzz` (OUTPOST_FUZZ=1 swift build --product outpost-fuzz), which compiles
// Outpost's own modules with coverage instrumentation; libFuzzer supplies `main`.
//
// libFuzzer owns the command line, so the harness is chosen by the environment:
//   OUTPOST_FUZZ_TARGET=decoders   every request body type through the wire decoder
//   OUTPOST_FUZZ_TARGET=http       raw requests to a real hub listening on loopback,
//                                  with admin, registration and agent tokens
// A crash, a trap (arithmetic overflow, a failed precondition) or a hung request is a
// finding; libFuzzer saves the input that caused it.

import Foundation

private enum Harness {
    case decoders
    case http(HTTPHarness)
}

nonisolated(unsafe) private var harness: Harness?

@_cdecl("LLVMFuzzerInitialize")
func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> Int32 {
    switch ProcessInfo.processInfo.environment["OUTPOST_FUZZ_TARGET"] ?? "" {
    case "decoders":
        harness = .decoders
    case "http":
        harness = .http(HTTPHarness.start())
    case let other:
        FileHandle.standardError.write(
            Data("outpost-fuzz: set OUTPOST_FUZZ_TARGET to decoders or http (got \"\(other)\")\n".utf8))
        exit(2)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    switch harness {
    case .decoders: DecoderHarness.run(bytes)
    case .http(let http): http.run(bytes)
    case nil: break
    }
    return 0
}
