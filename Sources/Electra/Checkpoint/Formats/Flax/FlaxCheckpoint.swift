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
        var walk = TreeWalk(file: file, name: name)
        try walk.collect(root, path: [])
        leaves = walk.leaves
    }

    /// Flattens the parameter tree into "a/b/c" names. Names are bounded (key length, total
    /// name bytes) so a hostile tree of long keys over many leaves cannot take quadratic memory.
    struct TreeWalk {
        let file: MappedFile
        let name: String
        var leaves: [String: Leaf] = [:]
        var nameBytes = 0
        static let maxKeyBytes = 1024
        static let maxNameBytes = 64 << 20

        func describe(_ path: [String]) -> String { path.isEmpty ? "the top level" : "'\(path.joined(separator: "/"))'" }

        mutating func collect(_ v: MessagePackValue, path: [String]) throws {
            switch v {
            case .map(let entries):
                for (k, child) in entries {
                    let key: String
                    switch k {
                    case .string(let s): key = s
                    case .int(let i): key = String(i)
                    case .uint(let u): key = String(u)
                    default: throw ElectraError("\(name): a key under \(describe(path)) is not a string")
                    }
                    guard key.utf8.count <= Self.maxKeyBytes, !key.contains("/") else {
                        throw ElectraError("\(name): a key under \(describe(path)) is longer than \(Self.maxKeyBytes) bytes or contains '/'")
                    }
                    try collect(child, path: path + [key])
                }
            case .ext(let type, let payload):
                guard type == 1 else {
                    throw ElectraError("\(name): \(describe(path)) holds MessagePack extension type \(type); only arrays (type 1) are supported")
                }
                let leafName = path.joined(separator: "/")
                nameBytes += leafName.utf8.count
                guard nameBytes <= Self.maxNameBytes else { throw ElectraError("\(name): parameter names exceed \(Self.maxNameBytes >> 20) MB in total; refusing") }
                guard leaves[leafName] == nil else { throw ElectraError("\(name): parameter \(describe(path)) appears twice") }
                leaves[leafName] = try FlaxCheckpointFile.array(payload, path: describe(path), file: file, name: name)
            default:
                // Flax also stores plain scalars (e.g. a step counter); they carry no weight.
                break
            }
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
            guard let n = d.intValue, n >= 0 else { throw ElectraError("\(name): \(path) has an invalid shape") }
            shape.append(n)
        }
        guard let dtype = dtypes[dtypeName] else {
            throw ElectraError("\(name): \(path) has unsupported dtype '\(dtypeName)' (supported: \(dtypes.keys.sorted().joined(separator: ", ")))")
        }
        try StoredTensorInfo.requireByteCount(shape, dtype, actual: bytes.count, file: name, what: path, dtypeName: dtypeName)
        return Leaf(info: StoredTensorInfo(dtype: dtype, shape: shape), bytes: bytes)
    }

    public var tensorNames: [String] { leaves.keys.sorted() }
    public func info(_ name: String) -> StoredTensorInfo? { leaves[name]?.info }

    public func floatTensor(_ name: String) throws -> Tensor {
        guard let leaf = leaves[name] else { throw ElectraError("\(url.lastPathComponent): no tensor named '\(name)'") }
        return try file.floatTensor(leaf.info, at: leaf.bytes.lowerBound, name: name)
    }
}
