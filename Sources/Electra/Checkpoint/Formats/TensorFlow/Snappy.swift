/// Snappy (raw format) decompression. TensorFlow's table reader accepts snappy-compressed
/// blocks; BundleWriter has written uncompressed ones since TF 1.2, but indexes written with
/// compression on still open in TF, so they open here too. Every length and back-reference
/// is checked: bad input is an error, never an out-of-bounds access.
enum Snappy {
    /// Decompresses `bytes[range]`. `context` names the file and block in errors.
    static func decompress(_ bytes: [UInt8], range: Range<Int>, context: String) throws -> [UInt8] {
        func corrupt(_ what: String) -> ElectraError {
            ElectraError("\(context): corrupt snappy-compressed block (\(what))")
        }
        // Preamble: the uncompressed length as a varint (at most 32 bits).
        var preamble = ProtobufReader(bytes, range: range, context: context)
        guard let raw = try? preamble.readVarint(), raw <= UInt32.max else { throw corrupt("bad length preamble") }
        let length = Int(raw)
        var p = preamble.position
        let end = preamble.end
        // A 3-byte copy element yields at most 64 bytes: anything claiming more is corrupt,
        // and this bounds the allocation by the input size.
        guard length <= 22 * (end - range.lowerBound) else {
            throw corrupt("claims \(length) bytes from \(end - range.lowerBound)")
        }
        var out = [UInt8]()
        out.reserveCapacity(length)
        while p < end {
            let tag = bytes[p]
            p += 1
            switch tag & 3 {
            case 0:  // Literal: length-1 in the tag, or in 1-4 following bytes.
                var n = Int(tag >> 2)
                if n >= 60 {
                    let extra = n - 59
                    guard end - p >= extra else { throw corrupt("literal length past the end") }
                    n = 0
                    for i in 0..<extra { n |= Int(bytes[p + i]) << (8 * i) }
                    p += extra
                }
                n += 1
                guard n <= end - p, n <= length - out.count else { throw corrupt("literal of \(n) bytes overruns") }
                out.append(contentsOf: bytes[p..<(p + n)])
                p += n
            case 1:  // Copy, 11-bit offset: length 4-11.
                guard p < end else { throw corrupt("copy past the end") }
                let n = 4 + Int((tag >> 2) & 7)
                let offset = Int(tag >> 5) << 8 | Int(bytes[p])
                p += 1
                try copy(&out, offset: offset, count: n, limit: length, corrupt)
            case 2:  // Copy, 16-bit offset: length 1-64.
                guard end - p >= 2 else { throw corrupt("copy past the end") }
                let offset = Int(bytes[p]) | Int(bytes[p + 1]) << 8
                p += 2
                try copy(&out, offset: offset, count: Int(tag >> 2) + 1, limit: length, corrupt)
            default:  // Copy, 32-bit offset: length 1-64.
                guard end - p >= 4 else { throw corrupt("copy past the end") }
                var offset = 0
                for i in 0..<4 { offset |= Int(bytes[p + i]) << (8 * i) }
                p += 4
                try copy(&out, offset: offset, count: Int(tag >> 2) + 1, limit: length, corrupt)
            }
        }
        guard out.count == length else { throw corrupt("holds \(out.count) bytes, the preamble says \(length)") }
        return out
    }

    /// Appends `count` bytes starting `offset` back; the ranges may overlap (a run), so the
    /// copy goes byte by byte.
    private static func copy(
        _ out: inout [UInt8], offset: Int, count: Int, limit: Int, _ corrupt: (String) -> ElectraError
    ) throws {
        guard offset > 0, offset <= out.count else { throw corrupt("copy from offset \(offset) with \(out.count) bytes written") }
        guard count <= limit - out.count else { throw corrupt("copy overruns the declared length") }
        let start = out.count - offset
        for i in 0..<count { out.append(out[start + i]) }
    }
}
