/// The parsed `.index` of a TensorBundle: the header entry (empty key, BundleHeaderProto) and
/// one BundleEntryProto per tensor, checked for everything that does not need the data files.
///
/// Field numbers (tensorflow/core/protobuf/tensor_bundle.proto):
///   BundleHeaderProto: 1 num_shards, 2 endianness (0 little, 1 big), 3 version (VersionDef:
///     1 producer, 2 min_consumer, 3 bad_consumers)
///   BundleEntryProto: 1 dtype, 2 shape (TensorShapeProto: 2 dim { 1 size, 2 name },
///     3 unknown_rank), 3 shard_id, 4 offset, 5 size, 6 crc32c (fixed32, masked), 7 slices
struct BundleIndex {
    let numShards: Int
    let entries: [String: TensorBundle.Entry]
    let unsupported: [String: String]
    let sliceEntryCount: Int

    /// TensorBundle format version this reader implements (TensorFlow's kTensorBundleVersion).
    static let formatVersion: Int32 = 1

    init(_ bytes: [UInt8], name: String) throws {
        let table = try SSTable.entries(of: bytes, name: name)
        guard let first = table.first, first.key.isEmpty else {
            throw ElectraError("\(name): no header entry (empty key) in the index: not a TensorBundle checkpoint index")
        }
        numShards = try Self.parseHeader(first.value, name: name)
        var entries: [String: TensorBundle.Entry] = [:]
        var unsupported: [String: String] = [:]
        var slices = 0
        for e in table.dropFirst() {
            // Slices of partitioned variables are keyed by an encoding that starts with a 0 byte.
            if e.key.first == 0 {
                slices += 1
                continue
            }
            guard let key = String(validating: e.key, as: UTF8.self) else {
                throw ElectraError("\(name): a tensor name is not UTF-8 ('\(SSTable.printable(e.key))'): the index is corrupt")
            }
            switch try Self.parseEntry(e.value, key: key, name: name, numShards: numShards) {
            case .tensor(let t): entries[key] = t
            case .unsupported(let type): unsupported[key] = type
            }
        }
        self.entries = entries
        self.unsupported = unsupported
        sliceEntryCount = slices
    }

    /// Checks the header; returns the number of data files.
    static func parseHeader(_ value: [UInt8], name: String) throws -> Int {
        var r = ProtobufReader(value, context: "\(name): header")
        var shards: Int32 = 0, endianness: Int32 = 0
        var minConsumer: Int32 = 0, badConsumers: [Int32] = []
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .varint): shards = try r.readInt32()
            case (2, .varint): endianness = try r.readInt32()
            case (3, .lengthDelimited):
                var v = try r.readMessage("version")
                while let (vf, vw) = try v.nextField() {
                    switch (vf, vw) {
                    case (2, .varint): minConsumer = try v.readInt32()
                    case (3, .varint): badConsumers.append(try v.readInt32())
                    case (3, .lengthDelimited):  // packed repeated int32
                        var packed = try v.readMessage("bad_consumers")
                        while !packed.isAtEnd { badConsumers.append(try packed.readInt32()) }
                    default: try v.skip(vw)
                    }
                }
            default: try r.skip(wire)
            }
        }
        guard endianness == 0 else {
            throw ElectraError("\(name): the checkpoint was written on a \(endianness == 1 ? "big-endian" : "unknown-endianness (\(endianness))") machine; only little-endian checkpoints are supported")
        }
        guard minConsumer <= formatVersion, !badConsumers.contains(formatVersion) else {
            throw ElectraError("\(name): written in TensorBundle format version \(minConsumer) (bad consumers \(badConsumers)); this reader implements version \(formatVersion)")
        }
        guard shards >= 1 else { throw ElectraError("\(name): the header says \(shards) data files") }
        return Int(shards)
    }

    enum Parsed {
        case tensor(TensorBundle.Entry)
        case unsupported(String)
    }

    static func parseEntry(_ value: [UInt8], key: String, name: String, numShards: Int) throws -> Parsed {
        let context = "\(name): entry '\(key)'"
        var r = ProtobufReader(value, context: context)
        var dtype: Int32 = 0, shard: Int32 = 0, offset: Int64 = 0, size: Int64 = 0
        var crc: UInt32 = 0, slices = 0
        var shape: [Int] = []
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .varint): dtype = try r.readInt32()
            case (2, .lengthDelimited): shape = try parseShape(try r.readMessage("shape"), context: context)
            case (3, .varint): shard = try r.readInt32()
            case (4, .varint): offset = try r.readInt64()
            case (5, .varint): size = try r.readInt64()
            case (6, .fixed32): crc = CRC32C.unmask(try r.readFixed32())
            case (7, .lengthDelimited):
                _ = try r.readLengthDelimited()
                slices += 1
            default: try r.skip(wire)
            }
        }
        guard dtype != 0 else { throw ElectraError("\(context) has no dtype: the index is corrupt") }
        guard let type = dtypeOf(dtype) else { return .unsupported(typeName(dtype)) }
        _ = try elementCount(shape, context: context)  // a shape too large to be real is an error even for sliced entries
        if slices > 0 {
            // dtype and shape describe the whole variable; the rest of the entry is unused.
            return .tensor(.init(dtype: type, shape: shape, shard: 0, range: 0..<0, crc32c: 0, slices: slices))
        }
        guard shard >= 0, Int(shard) < numShards else {
            throw ElectraError("\(context) is in data file \(shard) but the header names \(numShards)")
        }
        let needed = StoredTensorInfo.checkedByteCount(shape, type)
        guard let bytes = needed, Int64(bytes) == size else {
            throw ElectraError("\(context) holds \(size) bytes but shape \(shapeString(shape)) of \(type.rawValue) needs \(needed.map(String.init) ?? "more than Int.max"): the index is corrupt")
        }
        guard offset >= 0, offset <= Int64(Int.max) - size else {
            throw ElectraError("\(context) has invalid offset \(offset): the index is corrupt")
        }
        let start = Int(offset)
        return .tensor(.init(dtype: type, shape: shape, shard: Int(shard), range: start..<(start + bytes), crc32c: crc, slices: 0))
    }

    /// Dimensions of a TensorShapeProto; unknown ranks and sizes are errors (saved tensors are
    /// always fully defined).
    static func parseShape(_ reader: ProtobufReader, context: String) throws -> [Int] {
        var r = reader
        var dims: [Int] = []
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (2, .lengthDelimited):
                var d = try r.readMessage("dim \(dims.count)")
                var size: Int64 = 0
                while let (df, dw) = try d.nextField() {
                    if df == 1, dw == .varint { size = try d.readInt64() } else { try d.skip(dw) }
                }
                guard size >= 0 else { throw ElectraError("\(context): dimension \(dims.count) has size \(size)") }
                dims.append(Int(size))
            case (3, .varint):
                if try r.readBool() { throw ElectraError("\(context): the shape has unknown rank") }
            default: try r.skip(wire)
            }
        }
        return dims
    }

    /// The element count; the product of the non-zero dimensions must fit an Int too, so that
    /// multiplying the dimensions in any order (as shape code elsewhere does) cannot overflow.
    static func elementCount(_ shape: [Int], context: String) throws -> Int {
        guard let n = StoredTensorInfo.checkedElementCount(shape) else {
            throw ElectraError("\(context): shape \(shapeString(shape)) is too large")
        }
        return n
    }

    /// TensorFlow DataType enum values (tensorflow/core/framework/types.proto) this reader reads.
    static func dtypeOf(_ tf: Int32) -> DType? {
        switch tf {
        case 1: .f32
        case 2: .f64
        case 3: .i32
        case 4: .u8
        case 5: .i16
        case 6: .i8
        case 9: .i64
        case 10: .bool
        case 14: .bf16
        case 19: .f16
        default: nil
        }
    }

    static func typeName(_ tf: Int32) -> String {
        let names: [Int32: String] = [
            7: "DT_STRING", 8: "DT_COMPLEX64", 11: "DT_QINT8", 12: "DT_QUINT8", 13: "DT_QINT32",
            15: "DT_QINT16", 16: "DT_QUINT16", 17: "DT_UINT16", 18: "DT_COMPLEX128", 20: "DT_RESOURCE",
            21: "DT_VARIANT", 22: "DT_UINT32", 23: "DT_UINT64", 24: "DT_FLOAT8_E5M2", 25: "DT_FLOAT8_E4M3FN",
        ]
        return names[tf] ?? "DataType \(tf)"
    }
}
