/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Secret
/// Manager sends with every payload (`dataCrc32c`) so a client can detect
/// corruption between the store and itself.
enum CRC32C {
    /// One entry per byte value: the register after shifting that byte through.
    private static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The checksum of `bytes` (initial value and final XOR 0xFFFFFFFF).
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }
}
