import Electra
import Foundation

/// What `electra prepare-data` writes beside its shards (manifest.json), and what
/// `electra pretrain` checks before training on them.
public struct PretrainingManifest: Codable, Sendable, Equatable {
    public static let formatName = "electra-pretraining-data"
    public var format = formatName
    public var version = 1
    public var examples = 0
    public var tokens = 0
    public var maxSeqLength: Int
    public var seed: UInt64
    public var tokenizerFingerprint: String
    public var vocabSize: Int
    public var shards: [Shard] = []
    public var sources: [Source] = []
    public var lines = 0
    public var documents = 0
    public var invalidUtf8Lines = 0
    /// Text tokens cut by the packing (ExampleBuilder.droppedTokens); nil in manifests
    /// written before it was counted.
    public var droppedTokens: Int?
    public var seconds = 0.0

    public struct Shard: Codable, Sendable, Equatable {
        public var file: String
        public var examples: Int
        public var tokens: Int
    }

    public struct Source: Codable, Sendable, Equatable {
        public var path: String
        public var bytes: Int
    }

    public static let fileName = "manifest.json"

    /// Whether `electra prepare-data` writes a top-level entry of this name (manifest, shards,
    /// the tokenizer/ copy): an earlier run's that a new one did not write (its extra shards)
    /// are removed by `--overwrite`.
    public static func isWritten(_ name: String) -> Bool {
        name == fileName || name == "tokenizer" || (name.hasPrefix("shard-") && name.hasSuffix(".safetensors"))
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    func encoded() throws -> Data {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }
}

/// Packed examples in shards (safetensors: `input_ids` I32 [tokens] back to back, `offsets`
/// I64 [examples + 1], `first_segment_end` I32 [examples]), written one shard at a time.
struct ShardWriter {
    let folder: URL
    let examplesPerShard: Int
    var ids: [Int32] = []
    var offsets: [Int] = [0]
    var firstEnds: [Int] = []
    var shards: [PretrainingManifest.Shard] = []

    init(folder: URL, examplesPerShard: Int) {
        self.folder = folder
        self.examplesPerShard = examplesPerShard
    }

    mutating func append(_ e: PackedExample) throws {
        ids += e.ids
        offsets.append(ids.count)
        firstEnds.append(e.firstSegmentEnd)
        if firstEnds.count >= examplesPerShard { try flush() }
    }

    mutating func flush() throws {
        guard !firstEnds.isEmpty else { return }
        let name = String(format: "shard-%05d.safetensors", shards.count)
        try SafeTensorsWriter.write([
            ("input_ids", .int32Values(shape: [ids.count], values: ids)),
            ("offsets", .int64(IntTensor(shape: [offsets.count], values: offsets))),
            ("first_segment_end", .int32(IntTensor(shape: [firstEnds.count], values: firstEnds))),
        ], metadata: ["format": PretrainingManifest.formatName], to: folder.appendingPathComponent(name))
        shards.append(.init(file: name, examples: firstEnds.count, tokens: ids.count))
        ids.removeAll(keepingCapacity: true)
        offsets = [0]
        firstEnds.removeAll(keepingCapacity: true)
    }
}

/// A prepare-data folder opened for training: every shard memory-mapped, examples addressed
/// by one global index.
public final class PretrainingData: @unchecked Sendable {
    public let folder: URL
    public let manifest: PretrainingManifest
    struct Shard {
        let owner: AnyObject  // what keeps the pointers valid: the mapped file, or memory

        let ids: UnsafePointer<Int32>
        let offsets: UnsafePointer<Int64>
        let firstEnds: UnsafePointer<Int32>
        let first: Int  // global index of its first example
        let count: Int
    }
    let shards: [Shard]
    public var exampleCount: Int { manifest.examples }

    public init(folder: URL) throws {
        self.folder = folder
        let url = folder.appendingPathComponent(PretrainingManifest.fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ElectraError("\(folder.path) is not a prepare-data folder: it has no \(PretrainingManifest.fileName) (make one with `electra prepare-data`)")
        }
        let m: PretrainingManifest
        do { m = try PretrainingManifest.decoder().decode(PretrainingManifest.self, from: Data(contentsOf: url)) } catch {
            throw ElectraError("\(url.path): not a readable prepare-data manifest (\(error))")
        }
        guard m.format == PretrainingManifest.formatName, m.version == 1 else {
            throw ElectraError("\(url.path): format \(m.format) version \(m.version); this build reads \(PretrainingManifest.formatName) version 1")
        }
        manifest = m
        var shards: [Shard] = [], first = 0
        for s in m.shards {
            let shardURL = folder.appendingPathComponent(s.file)
            let f = try SafeTensorsFile(url: shardURL)
            func raw(_ name: String, _ dtype: DType, _ count: Int) throws -> UnsafeRawPointer {
                let (p, r) = try f.rawData(name)
                guard r.dtype == dtype, r.elementCount == count else {
                    throw ElectraError("\(shardURL.path): tensor \(name) is \(r.dtype.rawValue) \(r.shape), the manifest says \(dtype.rawValue) [\(count)]; the data folder is corrupt")
                }
                return p
            }
            let ids = try raw("input_ids", .i32, s.tokens).assumingMemoryBound(to: Int32.self)
            let offsets = try raw("offsets", .i64, s.examples + 1).assumingMemoryBound(to: Int64.self)
            let ends = try raw("first_segment_end", .i32, s.examples).assumingMemoryBound(to: Int32.self)
            guard offsets[0] == 0, offsets[s.examples] == Int64(s.tokens) else {
                throw ElectraError("\(shardURL.path): offsets do not cover input_ids; the data folder is corrupt")
            }
            // Once per shard (a pass over its tokens): the training loop then reads it unchecked.
            for k in 0..<s.examples {
                let length = offsets[k + 1] - offsets[k]
                guard length >= 1, length <= Int64(m.maxSeqLength), ends[k] >= 0, Int64(ends[k]) <= length else {
                    throw ElectraError("\(shardURL.path): example \(k) has offsets \(offsets[k])..<\(offsets[k + 1]) and first segment end \(ends[k]) (max_seq_length \(m.maxSeqLength)); the data folder is corrupt")
                }
            }
            for t in 0..<s.tokens where ids[t] < 0 || Int(ids[t]) >= m.vocabSize {
                throw ElectraError("\(shardURL.path): token \(t) has id \(ids[t]), outside the vocabulary of \(m.vocabSize); the data folder is corrupt")
            }
            shards.append(Shard(owner: f, ids: ids, offsets: offsets, firstEnds: ends, first: first, count: s.examples))
            first += s.examples
        }
        guard first == m.examples else {
            throw ElectraError("\(url.path): the shards hold \(first) examples, the manifest says \(m.examples)")
        }
        self.shards = shards
    }

    /// Examples held in memory (benchmarks and tests), as one shard.
    public init(examples: [PackedExample], maxSeqLength: Int, tokenizerFingerprint: String = "", vocabSize: Int) {
        folder = URL(fileURLWithPath: "/dev/null")
        let memory = ExampleMemory(examples)
        var m = PretrainingManifest(maxSeqLength: maxSeqLength, seed: 0, tokenizerFingerprint: tokenizerFingerprint, vocabSize: vocabSize)
        m.examples = examples.count
        m.tokens = examples.reduce(0) { $0 + $1.ids.count }
        manifest = m
        shards = [Shard(owner: memory, ids: memory.ids.baseAddress!, offsets: memory.offsets.baseAddress!,
                        firstEnds: memory.firstEnds.baseAddress!, first: 0, count: examples.count)]
    }

    /// Example `i`'s token ids and where its first segment ends.
    public func example(_ i: Int) -> (ids: UnsafeBufferPointer<Int32>, firstSegmentEnd: Int) {
        var lo = 0, hi = shards.count - 1
        while lo < hi {  // the last shard whose first example is <= i
            let mid = (lo + hi + 1) / 2
            if shards[mid].first <= i { lo = mid } else { hi = mid - 1 }
        }
        let s = shards[lo], k = i - s.first
        let b = Int(s.offsets[k]), e = Int(s.offsets[k + 1])
        return (UnsafeBufferPointer(start: s.ids + b, count: e - b), Int(s.firstEnds[k]))
    }
}

/// Packed examples in heap buffers that never move (allocated once, freed with the object).
final class ExampleMemory {
    let ids: UnsafeMutableBufferPointer<Int32>
    let offsets: UnsafeMutableBufferPointer<Int64>
    let firstEnds: UnsafeMutableBufferPointer<Int32>

    init(_ examples: [PackedExample]) {
        let total = examples.reduce(0) { $0 + $1.ids.count }
        ids = .allocate(capacity: max(total, 1))
        offsets = .allocate(capacity: examples.count + 1)
        firstEnds = .allocate(capacity: max(examples.count, 1))
        var at = 0
        offsets[0] = 0
        for (k, e) in examples.enumerated() {
            for (j, id) in e.ids.enumerated() { ids[at + j] = id }
            at += e.ids.count
            offsets[k + 1] = Int64(at)
            firstEnds[k] = Int32(e.firstSegmentEnd)
        }
    }

    deinit {
        ids.deallocate()
        offsets.deallocate()
        firstEnds.deallocate()
    }
}
