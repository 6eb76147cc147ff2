import OutpostCore
import OutpostTestSupport
import Testing

@Suite("WebSocket masking")
struct WebSocketMaskTests {
    /// RFC 6455 §5.3, one byte at a time.
    private func reference(_ bytes: [UInt8], key: [UInt8], offset: Int) -> [UInt8] {
        bytes.enumerated().map { $1 ^ key[($0 + offset) % 4] }
    }

    @Test("eight bytes at a time gives the byte-by-byte definition's result for every length, key and offset")
    func matchesTheDefinition() {
        var random = SeededRandom(seed: 5455)
        for length in Array(0...40) + [63, 64, 65, 1000, 4097] {
            for offset in 0..<4 {
                let key = (0..<4).map { _ in UInt8.random(in: 0...255, using: &random) }
                let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                var masked = payload
                masked.withUnsafeMutableBytes { WebSocketMask.apply(key: key, to: $0, offset: offset) }
                #expect(masked == reference(payload, key: key, offset: offset), "length \(length), offset \(offset)")
                // Masking twice restores the payload.
                masked.withUnsafeMutableBytes { WebSocketMask.apply(key: key, to: $0, offset: offset) }
                #expect(masked == payload)
            }
        }
    }

    @Test("RFC 6455 §5.7's masked \"Hello\"")
    func rfcExample() {
        var hello = Array("Hello".utf8)
        hello.withUnsafeMutableBytes { WebSocketMask.apply(key: [0x37, 0xFA, 0x21, 0x3D], to: $0) }
        #expect(hello == [0x7F, 0x9F, 0x4D, 0x51, 0x58])
    }

    @Test("a slice that starts at an odd address is masked like the whole")
    func unalignedSlices() {
        let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        let payload = Array("Hello, masking across unaligned addresses!".utf8)
        for start in 0..<8 {
            var buffer = [UInt8](repeating: 0xAA, count: start) + payload
            buffer.withUnsafeMutableBytes { bytes in
                WebSocketMask.apply(key: key, to: UnsafeMutableRawBufferPointer(rebasing: bytes[start...]))
            }
            #expect(Array(buffer[start...]) == reference(payload, key: key, offset: 0))
            #expect(buffer[..<start].allSatisfy { $0 == 0xAA })
        }
    }
}
