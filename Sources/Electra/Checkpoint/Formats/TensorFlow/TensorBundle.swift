import ElectraKernels
import Foundation

/// A TensorFlow 1 checkpoint in TensorFlow's "TensorBundle" (V2) format, as Google Research's
/// ELECTRA checkpoints (`model.ckpt-N`) are saved: `PREFIX.index`, a table from variable name
/// to a BundleEntryProto (dtype, shape, shard, byte range, masked CRC-32C), and the raw
/// little-endian tensor bytes in `PREFIX.data-0000K-of-0000N`. The index is parsed and checked
/// whole on open; the data files are mapped, and a tensor's CRC is verified each time it is read.
///
/// What is listed: numeric tensors (TF float, double, half, bfloat16, int64/32/16/8, uint8,
/// bool) are `tensorNames`. Entries of other types (DT_STRING, complex, quantized, resource,
/// ...) have no `DType`, so they are kept out of `tensorNames` and listed in `unsupported`
/// with their type; reading one is an error that names it. Partitioned variables (entries
/// with `slices`) are listed with their full shape but reading one is a "not supported"
/// error; their per-slice entries (keys starting with a 0 byte) are only counted.
public final class TensorBundle: TensorSource {
    /// One numeric tensor of the index.
    struct Entry: Sendable, Equatable {
        let dtype: DType
        let shape: [Int]
        let shard: Int
        /// Bytes inside the shard.
        let range: Range<Int>
        /// Unmasked CRC-32C of those bytes.
        let crc32c: UInt32
        /// > 0 for a partitioned variable: its data lives in that many slice entries.
        let slices: Int
    }

    /// The `.index` file: named in messages, its folder holds the shards and config.json.
    public let url: URL
    public var formatName: String { "tf1" }
    public let tensorNames: [String]
    /// Entries that cannot be read as tensors, with their TensorFlow type ("DT_STRING").
    public let unsupported: [String: String]
    /// Slice entries of partitioned variables, which are not tensors of their own.
    public let sliceEntryCount: Int
    let entries: [String: Entry]
    let shards: [Int: MappedFile]
    let indexName: String

    /// Opens a checkpoint from its prefix (`dir/model.ckpt-1000`), its `.index` file, one of
    /// its data files, or a folder holding either a `checkpoint` file (whose
    /// model_checkpoint_path names the prefix) or exactly one `*.index`.
    public convenience init(prefix: URL) throws {
        let resolved = try Self.resolvePrefix(prefix)
        let indexURL = URL(fileURLWithPath: resolved.path + ".index")
        let bytes: [UInt8]
        do {
            // MappedFile refuses FIFOs and devices, which a plain read would block on.
            let file = try MappedFile(url: indexURL)
            bytes = [UInt8](UnsafeRawBufferPointer(start: file.base, count: file.size))
        } catch let e as ElectraError {
            throw ElectraError("no TF1 checkpoint at \(resolved.path): \(e.message)")
        }
        let index = try BundleIndex(bytes, name: indexURL.lastPathComponent)
        var shards: [Int: MappedFile] = [:]
        for id in Set(index.entries.values.filter { $0.slices == 0 }.map(\.shard)).sorted() {
            let shardURL = URL(fileURLWithPath: resolved.path + Self.shardSuffix(id, of: index.numShards))
            guard FileManager.default.fileExists(atPath: shardURL.path) else {
                let users = index.entries.filter { $0.value.shard == id }.keys.sorted()
                throw ElectraError("\(indexURL.lastPathComponent): data file \(shardURL.lastPathComponent) is missing (it holds \(users.count) tensors, e.g. '\(users.first ?? "")'); expected in \(shardURL.deletingLastPathComponent().path)")
            }
            shards[id] = try MappedFile(url: shardURL)
        }
        try self.init(index: index, shards: shards, url: indexURL)
    }

    /// A bundle held in memory (tests, fuzzing): the `.index` bytes and every data file's
    /// bytes in shard order. `prefix` only names things in messages.
    convenience init(indexBytes: [UInt8], shardBytes: [[UInt8]], prefix: String = "memory.ckpt") throws {
        let name = prefix + ".index"
        let index = try BundleIndex(indexBytes, name: name)
        guard index.numShards == shardBytes.count else {
            throw ElectraError("\(name): the header names \(index.numShards) data files but \(shardBytes.count) were given")
        }
        var shards: [Int: MappedFile] = [:]
        for (id, bytes) in shardBytes.enumerated() {
            shards[id] = MappedFile(copying: bytes, url: URL(fileURLWithPath: prefix + Self.shardSuffix(id, of: index.numShards)))
        }
        try self.init(index: index, shards: shards, url: URL(fileURLWithPath: name))
    }

    /// Checks every entry against the size of its data file.
    private init(index: BundleIndex, shards: [Int: MappedFile], url: URL) throws {
        let name = url.lastPathComponent
        for (tensor, e) in index.entries where e.slices == 0 {
            guard let shard = shards[e.shard] else {
                throw ElectraError("\(name): tensor '\(tensor)' is in data file \(e.shard), which was not given")
            }
            guard e.range.upperBound <= shard.size else {
                throw ElectraError("\(shard.name): tensor '\(tensor)' needs bytes \(e.range.lowerBound)..<\(e.range.upperBound) but the file has \(shard.size): it is truncated")
            }
        }
        self.url = url
        indexName = name
        entries = index.entries
        tensorNames = index.entries.keys.sorted()
        unsupported = index.unsupported
        sliceEntryCount = index.sliceEntryCount
        self.shards = shards
    }

    public func info(_ name: String) -> StoredTensorInfo? {
        entries[name].map { StoredTensorInfo(dtype: $0.dtype, shape: $0.shape) }
    }

    /// The tensor widened to fp32; aligned F32 data is a view of the mapped file.
    public func floatTensor(_ name: String) throws -> Tensor {
        let (e, _, shard) = try checkedBytes(name)
        return try shard.floatTensor(StoredTensorInfo(dtype: e.dtype, shape: e.shape), at: e.range.lowerBound, name: name)
    }

    /// An integer (or bool) tensor's values in row-major order, e.g. `global_step`.
    public func intValues(_ name: String) throws -> [Int] {
        let (e, src, _) = try checkedBytes(name)
        guard let v = e.dtype.readIntegers(src, count: e.shape.reduce(1, *)) else {
            throw ElectraError("\(indexName): tensor '\(name)' is \(e.dtype.rawValue), expected an integer type")
        }
        return v
    }

    /// A readable entry and its bytes, after the CRC check.
    private func checkedBytes(_ name: String) throws -> (Entry, UnsafeMutableRawPointer, MappedFile) {
        guard let e = entries[name] else {
            if let type = unsupported[name] {
                throw ElectraError("\(indexName): '\(name)' is a \(type) tensor; only numeric tensors can be read")
            }
            throw ElectraError("\(indexName): no tensor named '\(name)'")
        }
        guard e.slices == 0 else {
            throw ElectraError("\(indexName): '\(name)' is a partitioned variable saved as \(e.slices) slices; partitioned variables are not supported (restore it in TensorFlow and save it unpartitioned)")
        }
        guard let shard = shards[e.shard] else { throw ElectraError("\(indexName): no data file \(e.shard) for '\(name)'") }
        let src = shard.base + e.range.lowerBound
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(start: src, count: e.range.count))
        guard actual == e.crc32c else {
            throw ElectraError("\(shard.name): tensor '\(name)' is corrupt: the crc32c of its \(e.range.count) bytes is \(CRC32C.hex(actual)) but the index says \(CRC32C.hex(e.crc32c)) (corrupt data)")
        }
        return (e, src, shard)
    }

    /// ".data-00000-of-00001", TensorFlow's data file name after the prefix.
    static func shardSuffix(_ id: Int, of count: Int) -> String {
        func five(_ n: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, 5 - s.count)) + s
        }
        return ".data-\(five(id))-of-\(five(count))"
    }
}

