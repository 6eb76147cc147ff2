/// A byte sequence as a set element or dictionary key, hashed in one call over
/// its bytes (an `[UInt8]` hashes byte by byte, which made deduplicating a few
/// thousand patterns a visible part of building a task's masker).
struct ByteString: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
