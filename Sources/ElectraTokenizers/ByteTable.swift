// An immutable hash map from UTF-8 byte strings to token ids.
//
// WordPiece asks "is bytes[start..<end] in the vocabulary?" many times per word; looking up a
// byte slice directly avoids building a String per candidate. Keys live in one arena; the
// table is open addressing with linear probing, storing the full hash to skip most compares.

final class ByteTable: @unchecked Sendable {
    // All storage is written once in init and only read afterwards (hence @unchecked Sendable).
    /// One slot per 16 bytes: the key's full hash, then (arena start << 8 | length), then id
    /// (-1 = empty). Keeping them together makes a probe touch one cache line plus the key.
    private struct Slot {
        var hash: UInt64
        var startLength: UInt32
        var id: Int32
    }
    private let arena: UnsafeMutableBufferPointer<UInt8>
    private let slots: UnsafeMutableBufferPointer<Slot>
    /// 2^19-bit filter (64 KB, stays in L1/L2): most WordPiece candidates are not in the
    /// vocabulary, and this rejects them without touching the 1 MB slot table.
    private let filter: UnsafeMutableBufferPointer<UInt64>
    private let mask: Int
    let count: Int
    /// Longest key in bytes: WordPiece never tries a longer candidate.
    let maxKeyLength: Int

    /// `entries` must not contain duplicate keys.
    init(_ entries: [(key: [UInt8], id: Int)]) {
        count = entries.count
        // Keys of 256 bytes or more are not stored (WordPiece never looks one up).
        let totalBytes = entries.reduce(0) { $0 + ($1.key.count < 256 ? $1.key.count : 0) }
        precondition(totalBytes < 1 << 24, "vocabulary too large for ByteTable")
        arena = .allocate(capacity: max(totalBytes, 1))
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, startLength: 0, id: -1))
        mask = capacity - 1
        filter = .allocate(capacity: 1 << 13)
        filter.initialize(repeating: 0)
        var offset = 0
        var longest = 0
        for entry in entries where entry.key.count < 256 {
            for (j, b) in entry.key.enumerated() { arena[offset + j] = b }
            let h = entry.key.withUnsafeBufferPointer { ByteTable.hash($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, entry.key.count) }
            var slot = ByteTable.slot(h) & mask
            while slots[slot].id >= 0 { slot = (slot + 1) & mask }
            let bit = Int(truncatingIfNeeded: h >> 45)  // 19 bits
            filter[bit >> 6] |= 1 << UInt64(bit & 63)
            slots[slot] = Slot(hash: h, startLength: UInt32(offset) << 8 | UInt32(entry.key.count), id: Int32(entry.id))
            offset += entry.key.count
            longest = max(longest, entry.key.count)
        }
        maxKeyLength = longest
    }

    deinit {
        arena.deallocate()
        slots.deallocate()
        filter.deallocate()
    }

    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// FNV-1a over the bytes. Byte-at-a-time on purpose: WordPiece computes the hashes of all
    /// prefixes [start, start+1), [start, start+2), ... in one pass and probes with them.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h = fnvOffset
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* fnvPrime }
        return h
    }

    @inline(__always)
    static func slot(_ h: UInt64) -> Int {
        Int(truncatingIfNeeded: ((h ^ (h >> 31)) &* 0x9E37_79B9_7F4A_7C15) >> 32)
    }

    /// The id stored for `p[0..<n]`, or -1.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        if n > maxKeyLength || n == 0 { return -1 }
        return lookup(p, n, hash: ByteTable.hash(p, n))
    }

    /// Lookup with a precomputed `hash(p, n)`.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64) -> Int {
        let bit = Int(truncatingIfNeeded: h >> 45)
        if filter[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return -1 }
        var slot = ByteTable.slot(h) & mask
        while true {
            let e = slots[slot]
            if e.id < 0 { return -1 }
            if e.hash == h && Int(e.startLength & 0xFF) == n
                && memcmp(arena.baseAddress! + Int(e.startLength >> 8), p, n) == 0 {
                return Int(e.id)
            }
            slot = (slot + 1) & mask
        }
    }
}

@inline(__always)
private func memcmp(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
    var i = 0
    while i < n {
        if a[i] != b[i] { return 1 }
        i += 1
    }
    return 0
}
