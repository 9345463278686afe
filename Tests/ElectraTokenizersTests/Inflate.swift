// A small raw-DEFLATE (RFC 1951) decoder so the committed parity texts can stay compressed
// without adding a dependency. Only used by the tests.

struct InflateError: Error, CustomStringConvertible {
    let description: String
}

/// Bit reader + table-driven Huffman decoding (fast enough in debug builds).
private struct BitReader {
    let input: [UInt8]
    var pos = 0
    var bitBuf: UInt64 = 0
    var bitCount = 0

    mutating func refill() {
        while bitCount <= 56 && pos < input.count {
            bitBuf |= UInt64(input[pos]) << UInt64(bitCount)
            pos += 1
            bitCount += 8
        }
    }

    mutating func bits(_ n: Int) throws -> Int {
        if n == 0 { return 0 }
        if bitCount < n { refill() }
        guard bitCount >= n else { throw InflateError(description: "unexpected end of data") }
        let v = Int(bitBuf & ((1 << UInt64(n)) - 1))
        bitBuf >>= UInt64(n)
        bitCount -= n
        return v
    }

    /// Decode one symbol with a table indexed by the next `maxBits` bits (bit-reversed codes).
    mutating func decode(_ t: HuffmanTable) throws -> Int {
        if bitCount < t.maxBits { refill() }
        let entry = t.table[Int(bitBuf & UInt64((1 << t.maxBits) - 1))]
        let len = Int(entry & 0xFF)
        guard len > 0, len <= bitCount else { throw InflateError(description: "bad Huffman code") }
        bitBuf >>= UInt64(len)
        bitCount -= len
        return Int(entry >> 8)
    }
}

private struct HuffmanTable {
    var table: [Int32]  // symbol << 8 | code length, 0 = invalid
    let maxBits: Int

    init(lengths: [Int]) {
        maxBits = max(1, lengths.max() ?? 1)
        table = [Int32](repeating: 0, count: 1 << maxBits)
        var counts = [Int](repeating: 0, count: 16)
        for l in lengths where l > 0 { counts[l] += 1 }
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for bits in 1..<16 {
            code = (code + counts[bits - 1]) << 1
            next[bits] = code
        }
        for (sym, len) in lengths.enumerated() where len > 0 {
            let c = next[len]
            next[len] += 1
            var rev = 0
            for i in 0..<len where c & (1 << i) != 0 { rev |= 1 << (len - 1 - i) }
            var r = rev
            while r < (1 << maxBits) {
                table[r] = Int32(sym << 8 | len)
                r += 1 << len
            }
        }
    }
}

func inflate(_ input: [UInt8]) throws -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(input.count * 4)
    var br = BitReader(input: input)

    let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    var last = 0
    while last == 0 {
        last = try br.bits(1)
        let type = try br.bits(2)
        if type == 0 {
            // Stored block: drop to a byte boundary, then LEN, NLEN.
            _ = try br.bits(br.bitCount % 8)
            let len = try br.bits(16)
            _ = try br.bits(16)
            for _ in 0..<len { out.append(UInt8(try br.bits(8))) }
            continue
        }
        let lit: HuffmanTable
        let dist: HuffmanTable
        if type == 1 {
            var l = [Int](repeating: 8, count: 288)
            for i in 144..<256 { l[i] = 9 }
            for i in 256..<280 { l[i] = 7 }
            lit = HuffmanTable(lengths: l)
            dist = HuffmanTable(lengths: [Int](repeating: 5, count: 30))
        } else if type == 2 {
            let hlit = try br.bits(5) + 257
            let hdist = try br.bits(5) + 1
            let hclen = try br.bits(4) + 4
            let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
            var cl = [Int](repeating: 0, count: 19)
            for i in 0..<hclen { cl[order[i]] = try br.bits(3) }
            let clh = HuffmanTable(lengths: cl)
            var lengths: [Int] = []
            while lengths.count < hlit + hdist {
                let sym = try br.decode(clh)
                switch sym {
                case 0..<16: lengths.append(sym)
                case 16:
                    guard let prev = lengths.last else { throw InflateError(description: "repeat with no previous length") }
                    lengths += repeatElement(prev, count: 3 + (try br.bits(2)))
                case 17: lengths += repeatElement(0, count: 3 + (try br.bits(3)))
                default: lengths += repeatElement(0, count: 11 + (try br.bits(7)))
                }
            }
            lit = HuffmanTable(lengths: Array(lengths[0..<hlit]))
            dist = HuffmanTable(lengths: Array(lengths[hlit..<(hlit + hdist)]))
        } else {
            throw InflateError(description: "invalid block type")
        }
        while true {
            let sym = try br.decode(lit)
            if sym < 256 {
                out.append(UInt8(sym))
            } else if sym == 256 {
                break
            } else {
                let li = sym - 257
                guard li < 29 else { throw InflateError(description: "bad length symbol") }
                let len = lengthBase[li] + (try br.bits(lengthExtra[li]))
                let di = try br.decode(dist)
                guard di < 30 else { throw InflateError(description: "bad distance symbol") }
                let d = distBase[di] + (try br.bits(distExtra[di]))
                guard d <= out.count else { throw InflateError(description: "distance too far back") }
                let start = out.count - d
                for k in 0..<len { out.append(out[start + k]) }
            }
        }
    }
    return out
}
