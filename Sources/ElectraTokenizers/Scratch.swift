// Reusable working memory for encoding one sequence: the normalized UTF-8 text with, for each
// normalized byte, the original character it came from, and the token output columns.
// One Scratch per thread; nothing here is allocated per token.

struct GrowableBuffer<T> {
    private(set) var base: UnsafeMutablePointer<T>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int = 256) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    func free() { base.deallocate() }

    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    @inline(never)
    private mutating func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let n = UnsafeMutablePointer<T>.allocate(capacity: c)
        n.moveInitialize(from: base, count: count)
        base.deallocate()
        base = n
        capacity = c
    }

    /// Caller must have reserved room.
    @inline(__always)
    mutating func appendUnchecked(_ v: T) {
        (base + count).initialize(to: v)
        count += 1
    }

    @inline(__always)
    mutating func append(_ v: T) {
        reserve(1)
        appendUnchecked(v)
    }

    subscript(i: Int) -> T {
        @inline(__always) get { base[i] }
        @inline(__always) nonmutating set { base[i] = newValue }
    }

    func toArray<U>(_ transform: (T) -> U) -> [U] {
        [U](unsafeUninitializedCapacity: count) { buf, n in
            for i in 0..<count { (buf.baseAddress! + i).initialize(to: transform(base[i])) }
            n = count
        }
    }
}

/// Per-thread working memory. Hot loops copy the `Workspace` struct into a local variable and
/// store it back afterwards, so buffer mutation never goes through class-property access.
final class Scratch {
    var ws = Workspace()
    deinit { ws.free() }
}

struct Workspace {
    // Normalized text and its alignment to the original (one entry per normalized byte).
    var norm = GrowableBuffer<UInt8>(capacity: 1024)
    var origChar = GrowableBuffer<Int32>(capacity: 1024)  // original scalar index
    var origByte = GrowableBuffer<Int32>(capacity: 1024)  // original byte start
    var origLen = GrowableBuffer<UInt8>(capacity: 1024)   // original character's byte length

    // Token output of the current sequence.
    var ids = GrowableBuffer<Int32>(capacity: 256)
    var charStart = GrowableBuffer<Int32>(capacity: 256)
    var charEnd = GrowableBuffer<Int32>(capacity: 256)
    var byteStart = GrowableBuffer<Int32>(capacity: 256)
    var byteEnd = GrowableBuffer<Int32>(capacity: 256)
    var words = GrowableBuffer<Int32>(capacity: 256)

    func free() {
        norm.free(); origChar.free(); origByte.free(); origLen.free()
        ids.free(); charStart.free(); charEnd.free(); byteStart.free(); byteEnd.free(); words.free()
    }

    mutating func resetTokens() {
        ids.count = 0; charStart.count = 0; charEnd.count = 0
        byteStart.count = 0; byteEnd.count = 0; words.count = 0
    }

    mutating func resetNormalized() {
        norm.count = 0; origChar.count = 0; origByte.count = 0; origLen.count = 0
    }

    @inline(__always)
    mutating func reserveTokens(_ n: Int) {
        ids.reserve(n); charStart.reserve(n); charEnd.reserve(n)
        byteStart.reserve(n); byteEnd.reserve(n); words.reserve(n)
    }

    @inline(__always)
    mutating func pushToken(id: Int32, chars: (Int32, Int32), bytes: (Int32, Int32), word: Int32) {
        reserveTokens(1)
        ids.appendUnchecked(id)
        charStart.appendUnchecked(chars.0); charEnd.appendUnchecked(chars.1)
        byteStart.appendUnchecked(bytes.0); byteEnd.appendUnchecked(bytes.1)
        words.appendUnchecked(word)
    }

    mutating func truncateTokens(to n: Int) {
        ids.count = n; charStart.count = n; charEnd.count = n
        byteStart.count = n; byteEnd.count = n; words.count = n
    }

    /// Append one normalized scalar aligned to the original character (index, byte, length).
    @inline(__always)
    mutating func pushNormalized(_ u: UInt32, char: Int32, byte: Int32, len: UInt8) {
        norm.reserve(4); origChar.reserve(4); origByte.reserve(4); origLen.reserve(4)
        if u < 0x80 {
            norm.appendUnchecked(UInt8(u))
            origChar.appendUnchecked(char); origByte.appendUnchecked(byte); origLen.appendUnchecked(len)
            return
        }
        var bytes: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        let n: Int
        if u < 0x800 {
            bytes = (UInt8(0xC0 | (u >> 6)), UInt8(0x80 | (u & 0x3F)), 0, 0); n = 2
        } else if u < 0x10000 {
            bytes = (UInt8(0xE0 | (u >> 12)), UInt8(0x80 | ((u >> 6) & 0x3F)), UInt8(0x80 | (u & 0x3F)), 0); n = 3
        } else {
            bytes = (
                UInt8(0xF0 | (u >> 18)), UInt8(0x80 | ((u >> 12) & 0x3F)),
                UInt8(0x80 | ((u >> 6) & 0x3F)), UInt8(0x80 | (u & 0x3F))
            ); n = 4
        }
        withUnsafeBytes(of: bytes) { raw in
            for k in 0..<n {
                norm.appendUnchecked(raw[k])
                origChar.appendUnchecked(char); origByte.appendUnchecked(byte); origLen.appendUnchecked(len)
            }
        }
    }
}

/// Decode the scalar starting at `p[i]` (valid UTF-8 assumed); returns (scalar, byte length).
@inline(__always)
func decodeScalar(_ p: UnsafePointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
    if b0 < 0xF0 {
        return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3)
    }
    return (
        (b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6
            | UInt32(p[i + 3] & 0x3F), 4
    )
}
