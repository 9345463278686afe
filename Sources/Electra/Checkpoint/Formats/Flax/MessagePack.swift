import Foundation

/// A MessagePack value. Binary and string payloads stay as byte ranges of the input, so a
/// 400 MB parameter file is parsed without copying its arrays. Not `indirect`: the arrays
/// already hold their elements out of line, and boxing every value cost ~50 bytes per
/// one-byte element.
enum MessagePackValue {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case binary(Range<Int>)
    case array([MessagePackValue])
    case map([(MessagePackValue, MessagePackValue)])
    case ext(type: Int8, payload: Range<Int>)

    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var intValue: Int? {
        switch self {
        case .int(let v): Int(exactly: v)
        case .uint(let v): Int(exactly: v)
        default: nil
        }
    }
}

/// Decodes MessagePack from a raw buffer, bounds-checked at every step: a truncated or
/// hostile file gives an error, never a crash. Depth is limited so nesting cannot overflow
/// the stack, and the number of values is limited by the input size (`objectBudget`) so a
/// file of one-byte values cannot take many times its size in memory.
struct MessagePackReader {
    let base: UnsafeRawPointer
    let end: Int
    let source: String
    var pos: Int
    /// Values that may still be decoded.
    var objectsLeft: Int
    let maxObjects: Int
    static let maxDepth = 64

    /// Values allowed for `size` bytes of input. Each value is at least one byte but takes
    /// 32-100 bytes decoded (with its array's share); a Flax checkpoint has a few values per
    /// tensor (a key, an array record of shape, dtype and data: ~170 values in a 70 KB test
    /// model), far under one per 4 bytes. So this keeps memory within ~10-25x the input (plus
    /// a few MB for small inputs) without refusing real files.
    static func objectBudget(forBytes size: Int) -> Int { size / 4 + (1 << 16) }

    init(base: UnsafeRawPointer, range: Range<Int>, source: String, maxObjects: Int? = nil) {
        self.base = base
        self.pos = range.lowerBound
        self.end = range.upperBound
        self.source = source
        self.maxObjects = maxObjects ?? Self.objectBudget(forBytes: range.count)
        self.objectsLeft = self.maxObjects
    }

    func fail(_ what: String) -> ElectraError {
        ElectraError("\(source): invalid MessagePack at byte \(pos): \(what)")
    }

    mutating func take(_ n: Int) throws -> Range<Int> {
        guard n >= 0, n <= end - pos else { throw fail("needs \(n) more bytes but the data ends (truncated file?)") }
        defer { pos += n }
        return pos..<(pos + n)
    }

    mutating func byte() throws -> UInt8 { base.load(fromByteOffset: try take(1).lowerBound, as: UInt8.self) }

    mutating func bigEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let r = try take(MemoryLayout<T>.size)
        var v: UInt64 = 0
        for i in r { v = (v << 8) | UInt64(base.load(fromByteOffset: i, as: UInt8.self)) }
        return T(truncatingIfNeeded: v)
    }

    /// A length field; `take`, `array` and `map` check it against the bytes left.
    mutating func length<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws -> Int {
        Int(try bigEndian(T.self))
    }

    mutating func string(_ n: Int) throws -> String {
        let r = try take(n)
        let bytes = UnsafeRawBufferPointer(start: base + r.lowerBound, count: n)
        guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    mutating func value(depth: Int = 0) throws -> MessagePackValue {
        guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
        objectsLeft -= 1
        guard objectsLeft >= 0 else {
            throw fail("more than \(maxObjects) values, far more than a checkpoint of this size holds; the file is corrupt or hostile")
        }
        let b = try byte()
        switch b {
        case 0x00...0x7F: return .int(Int64(b))
        case 0xE0...0xFF: return .int(Int64(Int8(bitPattern: b)))
        case 0x80...0x8F: return try map(Int(b & 0x0F), depth)
        case 0x90...0x9F: return try array(Int(b & 0x0F), depth)
        case 0xA0...0xBF: return .string(try string(Int(b & 0x1F)))
        case 0xC0: return .null
        case 0xC2: return .bool(false)
        case 0xC3: return .bool(true)
        case 0xC4: return .binary(try take(try length(UInt8.self)))
        case 0xC5: return .binary(try take(try length(UInt16.self)))
        case 0xC6: return .binary(try take(try length(UInt32.self)))
        case 0xC7: return try ext(try length(UInt8.self))
        case 0xC8: return try ext(try length(UInt16.self))
        case 0xC9: return try ext(try length(UInt32.self))
        case 0xCA: return .double(Double(Float(bitPattern: try bigEndian(UInt32.self))))
        case 0xCB: return .double(Double(bitPattern: try bigEndian(UInt64.self)))
        case 0xCC: return .uint(UInt64(try bigEndian(UInt8.self)))
        case 0xCD: return .uint(UInt64(try bigEndian(UInt16.self)))
        case 0xCE: return .uint(UInt64(try bigEndian(UInt32.self)))
        case 0xCF: return .uint(try bigEndian(UInt64.self))
        case 0xD0: return .int(Int64(try bigEndian(Int8.self)))
        case 0xD1: return .int(Int64(try bigEndian(Int16.self)))
        case 0xD2: return .int(Int64(try bigEndian(Int32.self)))
        case 0xD3: return .int(try bigEndian(Int64.self))
        case 0xD4: return try ext(1)
        case 0xD5: return try ext(2)
        case 0xD6: return try ext(4)
        case 0xD7: return try ext(8)
        case 0xD8: return try ext(16)
        case 0xD9: return .string(try string(try length(UInt8.self)))
        case 0xDA: return .string(try string(try length(UInt16.self)))
        case 0xDB: return .string(try string(try length(UInt32.self)))
        case 0xDC: return try array(try length(UInt16.self), depth)
        case 0xDD: return try array(try length(UInt32.self), depth)
        case 0xDE: return try map(try length(UInt16.self), depth)
        case 0xDF: return try map(try length(UInt32.self), depth)
        default: throw fail("unknown type byte 0x\(String(b, radix: 16))")
        }
    }

    mutating func ext(_ n: Int) throws -> MessagePackValue {
        let t = Int8(bitPattern: try byte())
        return .ext(type: t, payload: try take(n))
    }

    // Each element takes at least one byte, so a count beyond the remaining bytes is corrupt
    // (checked before reserving memory for it).
    mutating func array(_ n: Int, _ depth: Int) throws -> MessagePackValue {
        guard n <= end - pos else { throw fail("array of \(n) elements is longer than the data left") }
        var out: [MessagePackValue] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try value(depth: depth + 1)) }
        return .array(out)
    }

    mutating func map(_ n: Int, _ depth: Int) throws -> MessagePackValue {
        guard n <= (end - pos) / 2 else { throw fail("map of \(n) entries is longer than the data left") }
        var out: [(MessagePackValue, MessagePackValue)] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append((try value(depth: depth + 1), try value(depth: depth + 1))) }
        return .map(out)
    }
}
