/// CRC-32C as the fake Secret Manager computes `dataCrc32c`: bit by bit, on
/// purpose not the provider's table-driven code, so the two check each other.
enum FakeGCPCRC32C {
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                let mask: UInt32 = 0 &- (crc & 1)
                crc = (crc >> 1) ^ (0x82F6_3B78 & mask)
            }
        }
        return ~crc
    }
}
