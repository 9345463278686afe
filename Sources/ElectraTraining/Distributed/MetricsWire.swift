/// A step's named metric sums as bytes for `ProcessGroup.gather`: per entry the key's UTF-8,
/// a 0 byte, and the value's 8 bytes (bit pattern, little endian), so NaN travels too.
enum MetricsWire {
    static func encode(_ metrics: [String: Double]) -> [UInt8] {
        var out: [UInt8] = []
        for (k, v) in metrics.sorted(by: { $0.key < $1.key }) {
            out += Array(k.utf8)
            out.append(0)
            withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 }
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) -> [String: Double] {
        var out: [String: Double] = [:], i = 0
        while i < bytes.count, let end = bytes[i...].firstIndex(of: 0), end + 8 < bytes.count {
            let key = String(decoding: bytes[i..<end], as: UTF8.self)
            var bits: UInt64 = 0
            for b in 0..<8 { bits |= UInt64(bytes[end + 1 + b]) << (8 * b) }
            out[key] = Double(bitPattern: bits)
            i = end + 9
        }
        return out
    }
}
