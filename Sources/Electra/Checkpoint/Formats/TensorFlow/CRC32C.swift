/// CRC-32C (Castagnoli polynomial), the checksum TensorFlow and LevelDB store for every table
/// block and every tensor of a checkpoint. Stored values are "masked" (rotated and offset) so
/// that a CRC computed over data that itself contains CRCs stays well distributed.
enum CRC32C {
    /// The CRC of `bytes`, continuing from `crc` (the CRC of preceding bytes; 0 to start).
    static func checksum(_ bytes: UnsafeRawBufferPointer, extending crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return crc32cTables.withUnsafeBufferPointer { t in
            var c = ~crc
            var p = base
            var n = bytes.count
            // Slicing-by-8: eight table lookups per 8 input bytes instead of a serial chain.
            while n >= 8 {
                let lo = c ^ UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
                let hi = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
            return ~c
        }
    }

    static func checksum(_ bytes: [UInt8], range: Range<Int>, extending crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum(UnsafeRawBufferPointer(rebasing: $0[range]), extending: crc) }
    }

    /// "0x1234abcd", for messages.
    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }

    static let maskDelta: UInt32 = 0xA282_EAD8

    /// The form in which TensorFlow stores a CRC.
    static func mask(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ maskDelta }

    /// The CRC a stored (masked) value stands for.
    static func unmask(_ masked: UInt32) -> UInt32 {
        let rotated = masked &- maskDelta
        return (rotated >> 17) | (rotated << 15)
    }
}

/// 8 tables of 256 entries for the reflected polynomial 0x82F63B78: table k maps a byte to
/// its CRC contribution k bytes further along.
private let crc32cTables: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 8 * 256)
    for i in 0..<256 {
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        t[i] = c
    }
    for k in 1..<8 {
        for i in 0..<256 {
            let prev = t[(k - 1) * 256 + i]
            t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
        }
    }
    return t
}()
