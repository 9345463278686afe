/// Protocol-buffer wire types: the low three bits of a field's key.
enum ProtobufWireType: UInt8, Sendable {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
}

/// Reads protobuf wire format field by field, enough for TensorFlow's small checkpoint protos
/// (BundleHeaderProto, BundleEntryProto, TensorShapeProto). No schema: callers switch on field
/// numbers and skip the rest, so fields added by newer TensorFlow versions are ignored. Every
/// read is bounds-checked and fails with an error naming `context`.
struct ProtobufReader {
    let bytes: [UInt8]
    /// Where the next read starts; reads never pass `end`.
    private(set) var position: Int
    let end: Int
    /// Names the file and record in error messages ("model.ckpt-1.index: entry 'w'").
    let context: String

    init(_ bytes: [UInt8], context: String) {
        self.init(bytes, range: 0..<bytes.count, context: context)
    }

    /// A reader over `range` of `bytes` (clamped to the array, so a bad range reads nothing).
    init(_ bytes: [UInt8], range: Range<Int>, context: String) {
        self.bytes = bytes
        position = min(max(range.lowerBound, 0), bytes.count)
        end = min(max(range.upperBound, position), bytes.count)
        self.context = context
    }

    var isAtEnd: Bool { position >= end }

    func error(_ what: String) -> ElectraError {
        ElectraError("\(context): \(what) (the record is corrupt)")
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws -> (number: Int, wireType: ProtobufWireType)? {
        guard !isAtEnd else { return nil }
        let key = try readVarint()
        guard let wireType = ProtobufWireType(rawValue: UInt8(key & 7)) else {
            throw error("invalid wire type \(key & 7)")
        }
        let number = key >> 3
        guard number >= 1, number <= (1 << 29) - 1 else { throw error("invalid field number \(number)") }
        return (Int(number), wireType)
    }

    /// A base-128 varint of at most 10 bytes (64 bits).
    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("varint runs past the end") }
            let byte = bytes[position]
            position += 1
            // The tenth byte may only carry the top bit of a 64-bit value.
            guard shift < 63 || byte <= 1 else { throw error("varint longer than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    mutating func readFixed32() throws -> UInt32 { try readLittleEndian() }
    mutating func readFixed64() throws -> UInt64 { try readLittleEndian() }

    mutating func readLittleEndian<T: FixedWidthInteger & UnsignedInteger>() throws -> T {
        let n = MemoryLayout<T>.size
        guard end - position >= n else { throw error("fixed\(8 * n) runs past the end") }
        var v: T = 0
        for i in 0..<n { v |= T(bytes[position + i]) << (8 * i) }
        position += n
        return v
    }

    /// The byte range of a length-delimited field (string, bytes or sub-message).
    mutating func readLengthDelimited() throws -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw error("field of \(length) bytes runs past the end (\(end - position) left)")
        }
        return try readBytes(Int(length))
    }

    /// The range of the next `count` raw bytes (not a protobuf field: for formats that mix
    /// varints with raw bytes, like table blocks).
    mutating func readBytes(_ count: Int) throws -> Range<Int> {
        guard count >= 0, count <= end - position else { throw error("\(count) bytes run past the end (\(end - position) left)") }
        position += count
        return (position - count)..<position
    }

    /// A reader over an embedded message.
    mutating func readMessage(_ what: String) throws -> ProtobufReader {
        ProtobufReader(bytes, range: try readLengthDelimited(), context: "\(context): \(what)")
    }

    /// int64 fields are varints holding the two's-complement value.
    mutating func readInt64() throws -> Int64 { Int64(bitPattern: try readVarint()) }

    /// int32 and enum fields: negative values are sign-extended to ten bytes on the wire.
    mutating func readInt32() throws -> Int32 {
        let v = try readInt64()
        guard let i = Int32(exactly: v) else { throw error("int32 field holds \(v)") }
        return i
    }

    mutating func readBool() throws -> Bool { try readVarint() != 0 }

    /// Skips a field the caller does not use.
    mutating func skip(_ wireType: ProtobufWireType) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        // Groups are deprecated and never written by TensorFlow's protos.
        case .startGroup, .endGroup: throw error("unexpected protobuf group")
        }
    }
}
