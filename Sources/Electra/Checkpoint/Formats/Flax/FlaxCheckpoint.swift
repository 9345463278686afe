import ElectraKernels
import Foundation

/// `flax_model.msgpack` as written by `flax.serialization.to_bytes`: a nested MessagePack map
/// whose leaves are arrays in extension type 1 (payload: [shape, dtype name, raw bytes]).
/// Tensor names are the map path joined with "/" ("electra/embeddings/LayerNorm/scale").
public final class FlaxCheckpointFile: TensorSource {
    struct Leaf {
        let info: StoredTensorInfo
        let bytes: Range<Int>
    }
    public let url: URL
    public var formatName: String { "flax" }
    let file: MappedFile
    let leaves: [String: Leaf]

    public convenience init(url: URL) throws {
        try self.init(file: MappedFile(url: url))
    }

    /// Reads bytes already in memory (tests, fuzzing); `url` only names them in messages.
    convenience init(bytes: [UInt8], url: URL) throws {
        try self.init(file: MappedFile(copying: bytes, url: url))
    }

    init(file: MappedFile) throws {
        self.file = file
        url = file.url
        let name = url.lastPathComponent
        var reader = MessagePackReader(base: file.base, range: 0..<file.size, source: name)
        let root = try reader.value()
        guard reader.pos == file.size else { throw reader.fail("\(file.size - reader.pos) bytes after the end of the parameter tree") }
        guard case .map = root else { throw ElectraError("\(name): the top level is not a map of parameters; not a Flax checkpoint") }
        var leaves: [String: Leaf] = [:]
        try Self.collect(root, path: [], into: &leaves, file: file, name: name)
        self.leaves = leaves
    }

    static func collect(_ v: MessagePackValue, path: [String], into leaves: inout [String: Leaf], file: MappedFile, name: String) throws {
        let where_ = path.isEmpty ? "the top level" : "'\(path.joined(separator: "/"))'"
        switch v {
        case .map(let entries):
            for (k, child) in entries {
                let key: String
                switch k {
                case .string(let s): key = s
                case .int, .uint: key = String(describing: k.intValue ?? 0)
                default: throw ElectraError("\(name): a key under \(where_) is not a string")
                }
                try collect(child, path: path + [key], into: &leaves, file: file, name: name)
            }
        case .ext(let type, let payload):
            guard type == 1 else {
                throw ElectraError("\(name): \(where_) holds MessagePack extension type \(type); only arrays (type 1) are supported")
            }
            leaves[path.joined(separator: "/")] = try array(payload, path: where_, file: file, name: name)
        default:
            // Flax also stores plain scalars (e.g. a step counter); they carry no weight.
            break
        }
    }

    static let dtypes: [String: DType] = [
        "float32": .f32, "float16": .f16, "bfloat16": .bf16, "float64": .f64,
        "int64": .i64, "int32": .i32, "int16": .i16, "int8": .i8, "uint8": .u8, "bool": .bool,
    ]

    static func array(_ payload: Range<Int>, path: String, file: MappedFile, name: String) throws -> Leaf {
        var r = MessagePackReader(base: file.base, range: payload, source: name)
        guard case .array(let parts) = try r.value(), parts.count == 3,
              case .array(let dims) = parts[0], let dtypeName = parts[1].stringValue,
              case .binary(let bytes) = parts[2] else {
            throw ElectraError("\(name): \(path) is not a Flax array record [shape, dtype, bytes]")
        }
        var shape: [Int] = []
        for d in dims {
            guard let n = d.intValue, n >= 0, n < 1 << 40 else { throw ElectraError("\(name): \(path) has an invalid shape") }
            shape.append(n)
        }
        guard let dtype = dtypes[dtypeName] else {
            throw ElectraError("\(name): \(path) has unsupported dtype '\(dtypeName)' (supported: \(dtypes.keys.sorted().joined(separator: ", ")))")
        }
        var count = 1
        for d in shape {
            let (m, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw ElectraError("\(name): \(path) has an impossibly large shape \(shapeString(shape))") }
            count = m
        }
        let (needed, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !o, needed == bytes.count else {
            throw ElectraError("\(name): \(path) holds \(bytes.count) bytes but shape \(shapeString(shape)) of \(dtypeName) needs \(needed)")
        }
        return Leaf(info: StoredTensorInfo(dtype: dtype, shape: shape), bytes: bytes)
    }

    public var tensorNames: [String] { leaves.keys.sorted() }
    public func info(_ name: String) -> StoredTensorInfo? { leaves[name]?.info }

    public func floatTensor(_ name: String) throws -> Tensor {
        guard let leaf = leaves[name] else { throw ElectraError("\(url.lastPathComponent): no tensor named '\(name)'") }
        let src = file.base + leaf.bytes.lowerBound
        if leaf.info.dtype == .f32, Int(bitPattern: src) % 4 == 0 {
            return Tensor(shape: leaf.info.shape, storage: Storage(borrowing: src, byteCount: leaf.bytes.count, owner: file))
        }
        let t = Tensor(zeros: leaf.info.shape)
        guard leaf.info.dtype.widen(src, count: leaf.info.elementCount, into: t.pointer) else {
            throw ElectraError("\(url.lastPathComponent): tensor '\(name)' is \(leaf.info.dtype.rawValue), expected a floating-point type")
        }
        return t
    }
}
