import Foundation

@testable import Electra

/// Builds TensorBundle checkpoints in memory the way TensorFlow's BundleWriter and
/// TableBuilder do, with knobs TensorFlow does not expose: small blocks (TF packs 256 KiB of
/// entries per block, so its indexes rarely have more than one), restart intervals, snappy
/// blocks, and hand-made entry protos for malformed cases. Its output was checked once to
/// open in TensorFlow's own reader (tf.train.load_checkpoint).
struct TestBundleWriter {
    var blockSize = 262_144
    var restartInterval = 16
    var snappy = false
    var shards: [[UInt8]] = [[]]
    /// BundleHeaderProto value; nil writes num_shards = shards.count, little-endian, version 1.
    var header: [UInt8]?
    /// Leaves the header entry out (a table that is not a bundle index).
    var omitHeader = false
    /// Key/value pairs after the header, written in this order (callers keep them sorted).
    var entries: [(key: [UInt8], value: [UInt8])] = []

    /// TF DataType numbers used by the tests.
    enum TFType: UInt64 { case float = 1, double = 2, int32 = 3, string = 7, int64 = 9, half = 19 }

    /// Appends `bytes` to shard `shard` and an entry describing them.
    mutating func add(_ name: String, type: UInt64, shape: [Int], bytes: [UInt8], shard: Int = 0) {
        let offset = shards[shard].count
        shards[shard] += bytes
        entries.append((Array(name.utf8), Self.entry(type: type, shape: shape, shard: shard, offset: offset, size: bytes.count, crc: CRC32C.checksum(bytes, range: 0..<bytes.count))))
    }

    mutating func add(_ name: String, floats: [Float], shape: [Int]? = nil, shard: Int = 0) {
        let bytes = floats.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } }
        add(name, type: TFType.float.rawValue, shape: shape ?? [floats.count], bytes: bytes, shard: shard)
    }

    static func entry(type: UInt64, shape: [Int], shard: Int = 0, offset: Int, size: Int, crc: UInt32, slices: Int = 0) -> [UInt8] {
        var shapeProto: [UInt8] = []
        for d in shape { shapeProto += TestProto.bytes(2, TestProto.varint(1, UInt64(bitPattern: Int64(d)))) }
        var e = TestProto.varint(1, type) + TestProto.bytes(2, shapeProto)
        if shard != 0 { e += TestProto.varint(3, UInt64(shard)) }
        if offset != 0 { e += TestProto.varint(4, UInt64(offset)) }
        e += TestProto.varint(5, UInt64(size)) + TestProto.fixed32(6, CRC32C.mask(crc))
        for _ in 0..<slices { e += TestProto.bytes(7, TestProto.bytes(1, [])) }
        return e
    }

    static func header(shards: Int, endianness: UInt64 = 0, minConsumer: UInt64 = 0) -> [UInt8] {
        var version = TestProto.varint(1, 1)
        if minConsumer != 0 { version += TestProto.varint(2, minConsumer) }
        var h = TestProto.varint(1, UInt64(shards))
        if endianness != 0 { h += TestProto.varint(2, endianness) }
        return h + TestProto.bytes(3, version)
    }

    /// The `.index` file: data blocks, an empty metaindex block, the index block, the footer.
    func indexBytes() -> [UInt8] {
        var file: [UInt8] = []
        var index: [(key: [UInt8], value: [UInt8])] = []
        var pending: [(key: [UInt8], value: [UInt8])] = []
        var pendingSize = 0
        func flush() {
            guard let last = pending.last else { return }
            index.append((last.key, writeBlock(pending, restartInterval: restartInterval, to: &file)))
            pending = []
            pendingSize = 0
        }
        let head = omitHeader ? [] : [([UInt8](), header ?? Self.header(shards: shards.count))]
        for e in head + entries.map({ ($0.key, $0.value) }) {
            pending.append((e.0, e.1))
            pendingSize += e.0.count + e.1.count + 3
            if pendingSize >= blockSize { flush() }
        }
        flush()
        let meta = writeBlock([], restartInterval: 1, to: &file)
        let indexHandle = writeBlock(index, restartInterval: 1, to: &file)
        var footer = meta + indexHandle
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        footer += withUnsafeBytes(of: SSTable.magic.littleEndian) { Array($0) }
        return file + footer
    }

    /// Appends one block (prefix-compressed entries, restart array, trailer); returns its handle.
    func writeBlock(_ kv: [(key: [UInt8], value: [UInt8])], restartInterval: Int, to file: inout [UInt8]) -> [UInt8] {
        var block: [UInt8] = []
        var restarts: [UInt32] = [0]
        var previous: [UInt8] = []
        for (i, e) in kv.enumerated() {
            var shared = 0
            if i % restartInterval == 0 {
                if i > 0 { restarts.append(UInt32(block.count)) }
            } else {
                while shared < min(previous.count, e.key.count), previous[shared] == e.key[shared] { shared += 1 }
            }
            block += TestProto.rawVarint(UInt64(shared)) + TestProto.rawVarint(UInt64(e.key.count - shared)) + TestProto.rawVarint(UInt64(e.value.count))
            block += e.key[shared...] + e.value
            previous = e.key
        }
        for r in restarts { block += withUnsafeBytes(of: r.littleEndian) { Array($0) } }
        block += withUnsafeBytes(of: UInt32(restarts.count).littleEndian) { Array($0) }
        var type: UInt8 = 0
        if snappy {
            block = TestSnappy.compress(block)
            type = 1
        }
        let handle = TestProto.rawVarint(UInt64(file.count)) + TestProto.rawVarint(UInt64(block.count))
        let crc = CRC32C.checksum(block + [type], range: 0..<(block.count + 1))
        file += block + [type] + withUnsafeBytes(of: CRC32C.mask(crc).littleEndian) { Array($0) }
        return handle
    }

    func bundle(prefix: String = "memory.ckpt") throws -> TensorBundle {
        try TensorBundle(indexBytes: indexBytes(), shardBytes: shards, prefix: prefix)
    }
}

/// Protobuf wire-format encoding for hand-made records.
enum TestProto {
    static func rawVarint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        return out + [UInt8(v)]
    }
    static func varint(_ field: UInt64, _ v: UInt64) -> [UInt8] { rawVarint(field << 3) + rawVarint(v) }
    static func bytes(_ field: UInt64, _ b: [UInt8]) -> [UInt8] { rawVarint(field << 3 | 2) + rawVarint(UInt64(b.count)) + b }
    static func fixed32(_ field: UInt64, _ v: UInt32) -> [UInt8] {
        rawVarint(field << 3 | 5) + withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }
}

/// A small greedy snappy compressor: enough to produce every element kind the decompressor
/// reads (short and long literals, 1-, 2- and 4-byte-offset copies, overlapping runs).
enum TestSnappy {
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var out = TestProto.rawVarint(UInt64(input.count))
        var literalStart = 0
        var last: [UInt32: Int] = [:]
        var i = 0
        func literal(_ end: Int) {
            var s = literalStart
            while s < end {
                let n = min(end - s, 65536)
                if n <= 60 {
                    out.append(UInt8(n - 1) << 2)
                } else if n <= 256 {
                    out += [60 << 2, UInt8(n - 1)]
                } else {
                    out += [61 << 2, UInt8((n - 1) & 0xFF), UInt8((n - 1) >> 8)]
                }
                out += input[s..<(s + n)]
                s += n
            }
        }
        while i + 4 <= input.count {
            let key = input[i..<(i + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let previous = last[key]
            last[key] = i
            guard let candidate = previous else {
                i += 1
                continue
            }
            var n = 0
            while i + n < input.count, input[candidate + n] == input[i + n], n < 64 { n += 1 }
            literal(i)
            let offset = i - candidate
            if n <= 11, offset < 2048 {
                out += [UInt8((offset >> 8) << 5) | UInt8(n - 4) << 2 | 1, UInt8(offset & 0xFF)]
            } else if offset < 65536, candidate % 2 == 0 {
                out += [UInt8(n - 1) << 2 | 2, UInt8(offset & 0xFF), UInt8(offset >> 8)]
            } else {  // 4-byte offsets are only needed past 64 KiB; used here too for coverage
                out += [UInt8(n - 1) << 2 | 3] + withUnsafeBytes(of: UInt32(offset).littleEndian) { Array($0) }
            }
            i += n
            literalStart = i
        }
        literal(input.count)
        return out
    }
}
