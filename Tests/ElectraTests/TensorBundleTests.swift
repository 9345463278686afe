import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// The TF1 TensorBundle reader, against bundles written by TensorFlow itself
/// (scripts/reference/make_tf1_fixtures.py) and hand-made ones for what TF never writes.
struct TensorBundleTests {
    static let root = Fixtures.root.appendingPathComponent("checkpoints/tf1")
    static let basic = root.appendingPathComponent("basic/model.ckpt-1000")

    func tempCopy(_ folder: String) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("electra-tf1-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent(folder), to: d)
        return d
    }

    func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

    // MARK: - Bundles written by TensorFlow

    @Test func readsWhatTensorFlowWrote() throws {
        let bundle = try TensorBundle(prefix: Self.basic)
        let expected = try SafeTensorsFile(url: Self.root.appendingPathComponent("basic/expected.safetensors"))
        #expect(bundle.formatName == "tf1")
        #expect(bundle.url.lastPathComponent == "model.ckpt-1000.index")
        #expect(bundle.tensorNames == expected.names)
        #expect(bundle.tensorNames.count == 61)
        #expect(bundle.unsupported == ["vocab/strings": "DT_STRING"])
        for name in expected.names {
            let want = try #require(expected.records[name])
            let got = try #require(bundle.info(name))
            #expect(got.shape == want.shape, "\(name)")
            if want.dtype.isFloatingPoint {
                let a = try bundle.floatTensor(name), b = try expected.floatTensor(name)
                #expect(a.shape == want.shape)
                #expect(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern), "\(name)")
            } else {
                #expect(got.dtype == want.dtype, "\(name)")
                #expect(try bundle.intValues(name) == expected.intTensor(name).values, "\(name)")
            }
        }
        #expect(bundle.info("electra/embeddings/LayerNorm/gamma")?.dtype == .f16)
        #expect(bundle.info("electra/embeddings/LayerNorm/beta")?.dtype == .f64)
        #expect(bundle.info("electra/bf16")?.dtype == .bf16)
        #expect(bundle.info("electra/encoder/layer_1/attention/self/query/kernel/adam_m") == StoredTensorInfo(dtype: .f32, shape: [4, 4]))
        #expect(bundle.info("global_step") == StoredTensorInfo(dtype: .i64, shape: []))
        #expect(try bundle.intValues("global_step") == [1000])
        #expect(try bundle.floatTensor("empty").shape == [0, 3])
        #expect(errorMessage { _ = try bundle.floatTensor("global_step") }.contains("'global_step' is I64"))
        #expect(errorMessage { _ = try bundle.intValues("electra/bf16") }.contains("expected an integer type"))
        #expect(errorMessage { _ = try bundle.floatTensor("vocab/strings") } == "model.ckpt-1000.index: 'vocab/strings' is a DT_STRING tensor; only numeric tensors can be read")
        #expect(errorMessage { _ = try bundle.floatTensor("nope") }.contains("no tensor named 'nope'"))
    }

    /// Aligned F32 data is a view of the mapped file (after the CRC check); F32 data that an
    /// odd-sized F16 pushed off alignment is copied.
    @Test func alignedF32IsAViewOfTheMapping() throws {
        let bundle = try TensorBundle(prefix: Self.basic)
        var views = 0, copies = 0
        for name in bundle.tensorNames where bundle.info(name)?.dtype == .f32 && bundle.info(name)?.elementCount ?? 0 > 0 {
            let entry = try #require(bundle.entries[name])
            let shard = try #require(bundle.shards[entry.shard])
            let p = UnsafeRawPointer(try bundle.floatTensor(name).pointer)
            let inMapping = p >= UnsafeRawPointer(shard.base) && p < UnsafeRawPointer(shard.base + shard.size)
            #expect(inMapping == (entry.range.lowerBound % 4 == 0), "\(name)")
            if inMapping { views += 1 } else { copies += 1 }
        }
        #expect(views > 0)
        #expect(copies > 0)
    }

    @Test func opensFromPrefixIndexDataFileOrFolder() throws {
        let folder = Self.root.appendingPathComponent("basic")
        for url in [
            Self.basic, folder.appendingPathComponent("model.ckpt-1000.index"),
            folder.appendingPathComponent("model.ckpt-1000.data-00000-of-00001"), folder,
            folder.appendingPathComponent("checkpoint"),
        ] {
            let bundle = try TensorBundle(prefix: url)
            #expect(bundle.url.standardizedFileURL.path == folder.appendingPathComponent("model.ckpt-1000.index").standardizedFileURL.path, "\(url.path)")
        }
        // A folder without a `checkpoint` file but with one index; a state file naming an
        // absolute path from another machine; then two indexes and no state file.
        let copy = try tempCopy("basic")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("checkpoint"))
        #expect(try TensorBundle(prefix: copy).tensorNames.count == 61)
        try #"model_checkpoint_path: "/data/run7/model.ckpt-1000"\n"#.write(to: copy.appendingPathComponent("checkpoint"), atomically: true, encoding: .utf8)
        #expect(try TensorBundle(prefix: copy).tensorNames.count == 61)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("checkpoint"))
        try FileManager.default.copyItem(at: copy.appendingPathComponent("model.ckpt-1000.index"), to: copy.appendingPathComponent("model.ckpt-2000.index"))
        #expect(errorMessage { _ = try TensorBundle(prefix: copy) }.contains("2 checkpoints here"))
        #expect(errorMessage { _ = try TensorBundle(prefix: copy.appendingPathComponent("model.ckpt-3")) }.contains("model.ckpt-3.index"))
    }

    /// A `checkpoint` state file is not trusted as a path: whatever it names, only the file of
    /// that last name inside the state file's own folder is opened.
    @Test func stateFileCannotPointOutsideItsFolder() throws {
        let outside = try tempCopy("basic"), inside = try tempCopy("basic")
        defer { for d in [outside, inside] { try? FileManager.default.removeItem(at: d) } }
        let state = inside.appendingPathComponent("checkpoint")
        func resolve(_ named: String) throws -> String {
            try "model_checkpoint_path: \"\(named)\"\n".write(to: state, atomically: true, encoding: .utf8)
            return try TensorBundle.resolvePrefix(inside).standardizedFileURL.path
        }
        let here = inside.appendingPathComponent("model.ckpt-1000").standardizedFileURL.path
        let absolute = outside.appendingPathComponent("model.ckpt-1000").path  // exists on this machine
        let dotdot = "../\(outside.lastPathComponent)/model.ckpt-1000"
        for named in ["model.ckpt-1000", absolute, dotdot, "gs://bucket/run7/model.ckpt-1000", "sub/model.ckpt-1000", "./model.ckpt-1000"] {
            #expect(try resolve(named) == here, "\(named)")
        }
        for named in ["..", ".", "/", "../..", "x/.."] {
            #expect(errorMessage { _ = try resolve(named) }.contains("does not name a checkpoint file in"), "\(named)")
        }
        // Without the folder's own copy, a name pointing at the other copy fails here.
        for f in ["model.ckpt-1000.index", "model.ckpt-1000.data-00000-of-00001"] {
            try FileManager.default.removeItem(at: inside.appendingPathComponent(f))
        }
        for named in [absolute, dotdot] {
            _ = try resolve(named)
            let m = errorMessage { _ = try TensorBundle(prefix: inside) }
            #expect(m.contains("cannot open \(inside.appendingPathComponent("model.ckpt-1000.index").path)"), "\(m)")
        }
    }

    @Test func mergedBundleReadsBothDataFiles() throws {
        let bundle = try TensorBundle(prefix: Self.root.appendingPathComponent("sharded"))
        let expected = try SafeTensorsFile(url: Self.root.appendingPathComponent("sharded/expected.safetensors"))
        #expect(bundle.tensorNames == expected.names)
        #expect(Set(bundle.entries.values.map(\.shard)) == [0, 1])
        #expect(bundle.shards.values.map(\.name).sorted() == ["model.ckpt-5.data-00000-of-00002", "model.ckpt-5.data-00001-of-00002"])
        for name in expected.names where expected.records[name]?.dtype.isFloatingPoint == true {
            #expect(try bundle.floatTensor(name).scalars == expected.floatTensor(name).scalars, "\(name)")
        }
        #expect(try bundle.intValues("global_step") == [5])
    }

    @Test func partitionedVariablesAreListedButNotRead() throws {
        let bundle = try TensorBundle(prefix: Self.root.appendingPathComponent("partitioned/model.ckpt-1"))
        #expect(bundle.tensorNames == ["electra/partitioned/kernel", "plain"])
        #expect(bundle.sliceEntryCount == 2)
        #expect(bundle.info("electra/partitioned/kernel") == StoredTensorInfo(dtype: .f32, shape: [4, 2]))
        #expect(errorMessage { _ = try bundle.floatTensor("electra/partitioned/kernel") }.contains("'electra/partitioned/kernel' is a partitioned variable saved as 2 slices; partitioned variables are not supported"))
        #expect(try bundle.floatTensor("plain").scalars == [1, 2])
    }

    // MARK: - Damaged files

    @Test func truncatedOrForeignIndexIsRejected() throws {
        let index = try bytes(Self.basic.appendingPathExtension("index"))
        let data = try bytes(Self.root.appendingPathComponent("basic/model.ckpt-1000.data-00000-of-00001"))
        func open(_ i: [UInt8]) -> String { errorMessage { _ = try TensorBundle(indexBytes: i, shardBytes: [data], prefix: "model.ckpt-1000") } }
        #expect(open([]).contains("less than the 48-byte table footer"))
        #expect(open(Array(index.prefix(47))).contains("model.ckpt-1000.index: only 47 bytes"))
        #expect(open(Array(index.dropLast())).contains("bad magic number"))
        #expect(open(Array(index.dropFirst(100))).hasPrefix("model.ckpt-1000.index: "))
        var magic = index
        magic[magic.count - 3] ^= 0x40
        #expect(open(magic) == "model.ckpt-1000.index: bad magic number at the end: not a TensorFlow checkpoint index (SSTable), or its end is truncated or corrupt")
        var block = index
        block[300] ^= 0x01  // inside the only data block
        #expect(open(block).contains("checksum mismatch in data block 0"))
        #expect(open(Array("model_checkpoint_path: \"x\"\n".utf8) + [UInt8](repeating: 0, count: 48)).contains("bad magic number"))
    }

    @Test func corruptTensorDataFailsItsCRCOnRead() throws {
        let index = try bytes(Self.basic.appendingPathExtension("index"))
        var data = try bytes(Self.root.appendingPathComponent("basic/model.ckpt-1000.data-00000-of-00001"))
        let clean = try TensorBundle(indexBytes: index, shardBytes: [data], prefix: "model.ckpt-1000")
        let name = "electra/encoder/layer_0/attention/self/key/kernel"
        let range = try #require(clean.entries[name]).range
        data[range.lowerBound + 5] ^= 0x10
        let bundle = try TensorBundle(indexBytes: index, shardBytes: [data], prefix: "model.ckpt-1000")
        let m = errorMessage { _ = try bundle.floatTensor(name) }
        #expect(m.hasPrefix("model.ckpt-1000.data-00000-of-00001: tensor '\(name)' is corrupt"))
        #expect(m.contains("(corrupt data)"))
        #expect(try bundle.floatTensor("electra/encoder/layer_0/attention/self/key/bias").count == 4)
    }

    @Test func missingOrShortDataFileIsNamed() throws {
        let copy = try tempCopy("sharded")
        defer { try? FileManager.default.removeItem(at: copy) }
        let second = copy.appendingPathComponent("model.ckpt-5.data-00001-of-00002")
        let saved = try Data(contentsOf: second)
        try saved.prefix(saved.count - 4).write(to: second)
        #expect(errorMessage { _ = try TensorBundle(prefix: copy) }.contains("model.ckpt-5.data-00001-of-00002: tensor 'electra/encoder/layer_0/output/dense/"))
        #expect(errorMessage { _ = try TensorBundle(prefix: copy) }.contains("it is truncated"))
        try FileManager.default.removeItem(at: second)
        #expect(errorMessage { _ = try TensorBundle(prefix: copy) }.contains("data file model.ckpt-5.data-00001-of-00002 is missing"))
    }

    // MARK: - Hand-made bundles

    @Test func indexesOfManyBlocksAndSnappyBlocksRead() throws {
        for snappy in [false, true] {
            var w = TestBundleWriter(blockSize: 200, restartInterval: 3, snappy: snappy, shards: [[], []])
            var want: [String: [Float]] = [:]
            for i in 0..<150 {
                let name = "electra/encoder/layer_\(i / 10)/dense_\(i % 10)/kernel"
                let values = (0..<(1 + i % 5)).map { Float(i) + Float($0) / 8 }
                want[name] = values
            }
            for name in want.keys.sorted() { w.add(name, floats: want[name]!, shard: name.count % 2) }
            let index = w.indexBytes()
            let blocks = try SSTable.entries(of: index, name: "m")
            #expect(blocks.count == 151)
            let bundle = try w.bundle()
            #expect(bundle.tensorNames == want.keys.sorted())
            for (name, values) in want { #expect(try bundle.floatTensor(name).scalars == values) }
        }
    }

    @Test func unreadableEntriesAreListedOrRejected() throws {
        var w = TestBundleWriter()
        w.add("a", floats: [1, 2])
        w.entries.append((Array("b/complex".utf8), TestBundleWriter.entry(type: 8, shape: [1], offset: 0, size: 8, crc: 0)))
        w.entries.append((Array("c/future".utf8), TestBundleWriter.entry(type: 99, shape: [1], offset: 0, size: 1, crc: 0)))
        w.add("d/string", type: TestBundleWriter.TFType.string.rawValue, shape: [1], bytes: [1, 0, 0, 0, 0, 65])
        let bundle = try w.bundle()
        #expect(bundle.tensorNames == ["a"])
        #expect(bundle.unsupported == ["b/complex": "DT_COMPLEX64", "c/future": "DataType 99", "d/string": "DT_STRING"])
        #expect(errorMessage { _ = try bundle.floatTensor("c/future") } == "memory.ckpt.index: 'c/future' is a DataType 99 tensor; only numeric tensors can be read")

        func reject(_ value: [UInt8], _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
            var bad = TestBundleWriter()
            bad.shards = [[UInt8](repeating: 0, count: 64)]
            bad.entries = [(Array("x".utf8), value)]
            let m = errorMessage { _ = try bad.bundle() }
            #expect(m.contains(expected), "\(m)", sourceLocation: sourceLocation)
        }
        reject(TestBundleWriter.entry(type: 1, shape: [3], offset: 0, size: 8, crc: 0), "entry 'x' holds 8 bytes but shape [3] of F32 needs 12")
        reject(TestBundleWriter.entry(type: 0, shape: [3], offset: 0, size: 12, crc: 0), "entry 'x' has no dtype")
        reject(TestBundleWriter.entry(type: 1, shape: [3], shard: 1, offset: 0, size: 12, crc: 0), "entry 'x' is in data file 1 but the header names 1")
        reject(TestBundleWriter.entry(type: 1, shape: [-1], offset: 0, size: 12, crc: 0), "dimension 0 has size -1")
        reject(TestBundleWriter.entry(type: 1, shape: [1 << 40, 1 << 40], offset: 0, size: 12, crc: 0), "is too large")
        reject(TestBundleWriter.entry(type: 1, shape: [20], offset: 0, size: 80, crc: 0), "tensor 'x' needs bytes 0..<80 but the file has 64")
        reject(TestBundleWriter.entry(type: 1, shape: [2], offset: 60, size: 8, crc: 0), "needs bytes 60..<68")
        reject(TestProto.varint(1, 1) + TestProto.bytes(2, TestProto.varint(3, 1)), "the shape has unknown rank")
        reject(TestProto.varint(1, 1) + [0x12, 0x7F], "runs past the end")
        reject(TestProto.varint(1, 1) + [0x1B], "unexpected protobuf group")
    }

    @Test func headerIsChecked() throws {
        func open(_ edit: (inout TestBundleWriter) -> Void) -> String {
            var w = TestBundleWriter()
            w.add("a", floats: [1])
            edit(&w)
            return errorMessage { _ = try w.bundle() }
        }
        #expect(open { _ in } == "no error")
        #expect(open { $0.header = TestBundleWriter.header(shards: 1, endianness: 1) }.contains("big-endian"))
        #expect(open { $0.header = TestBundleWriter.header(shards: 1, minConsumer: 2) }.contains("format version 2"))
        #expect(open { $0.header = TestBundleWriter.header(shards: 0) }.contains("the header says 0 data files"))
        #expect(open { $0.header = TestBundleWriter.header(shards: 2) }.contains("names 2 data files but 1 were given"))
        #expect(open { $0.entries.append($0.entries[0]) }.contains("keys out of order"))
        #expect(open { $0.entries.insert((Array("z".utf8), $0.entries[0].value), at: 0) }.contains("keys out of order in data block 0 ('a' after 'z')"))
        #expect(open { $0.omitHeader = true }.contains("memory.ckpt.index: no header entry"))
    }

    /// A table of one data block holding `entries` exactly as given (shared prefix length,
    /// the key's other bytes, value): what no writer produces, for hostile-index tests.
    func rawTable(_ entries: [(shared: Int, unshared: [UInt8], value: [UInt8])], snappy: Bool = false) -> [UInt8] {
        var block: [UInt8] = []
        for e in entries {
            block += TestProto.rawVarint(UInt64(e.shared)) + TestProto.rawVarint(UInt64(e.unshared.count))
                + TestProto.rawVarint(UInt64(e.value.count)) + e.unshared + e.value
        }
        block += [0, 0, 0, 0, 1, 0, 0, 0]  // one restart point, at 0
        if snappy { block = TestSnappy.compress(block) }
        var file = block + [snappy ? 1 : 0]
        file += withUnsafeBytes(of: CRC32C.mask(CRC32C.checksum(file, range: 0..<file.count)).littleEndian) { Array($0) }
        let w = TestBundleWriter()
        let meta = w.writeBlock([], restartInterval: 1, to: &file)
        let index = w.writeBlock([([0xFF], TestProto.rawVarint(0) + TestProto.rawVarint(UInt64(block.count)))], restartInterval: 1, to: &file)
        var footer = meta + index
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        footer += withUnsafeBytes(of: SSTable.magic.littleEndian) { Array($0) }
        return file + footer
    }

    /// Each entry may share the whole previous key and add a byte, so a small index could ask
    /// for memory quadratic in its size: keys are capped, all entries share one memory budget
    /// scaled with the file, and order is checked as each entry is decoded.
    @Test func hostileIndexKeysAreBounded() throws {
        func open(_ table: [UInt8]) -> String { errorMessage { _ = try SSTable.entries(of: table, name: "hostile.index") } }
        let ok = try SSTable.entries(of: rawTable([(0, Array("ab".utf8), [1]), (1, Array("c".utf8), [2])]), name: "t")
        #expect(ok.map(\.key) == [Array("ab".utf8), Array("ac".utf8)] && ok.map(\.value) == [[1], [2]])
        #expect(open(rawTable([(0, [UInt8](repeating: 0x61, count: 70_000), [])]))
            == "hostile.index: data block 0 has a key of 70000 bytes, more than the 65536 a tensor name may have: the index is corrupt")
        // 12 000 entries of ~5 bytes whose keys grow by one byte each: 72 MB of whole keys from
        // a 60 KB file (quadratic: a 1 MB block would ask for tens of GB). Snappy shrinks the
        // file further, and the budget with it.
        for snappy in [false, true] {
            let table = rawTable((0..<12_000).map { (shared: $0, unshared: [0x61], value: []) }, snappy: snappy)
            let m = open(table)
            #expect(m.hasPrefix("hostile.index: the entries of this \(table.count)-byte index would take more than \(16 * table.count + (16 << 20)) bytes of memory (stopped in data block 0)"), "\(m)")
        }
        // The second key is out of order: that is the error, before the third (corrupt) entry.
        #expect(open(rawTable([(0, Array("b".utf8), []), (0, Array("a".utf8), []), (5, [], [])]))
            == "hostile.index: keys out of order in data block 0 ('a' after 'b'): the index is corrupt")
        #expect(open(rawTable([(0, Array("b".utf8), []), (5, [], [])])).contains("an entry shares 5 bytes of a 1-byte key"))
    }

    @Test func unknownCompressionTypeIsRejected() throws {
        var w = TestBundleWriter()
        w.add("a", floats: [1])
        var index = w.indexBytes()
        // Footer -> index block -> the data block's handle; set its type byte to 2, fix the CRC.
        var r = ProtobufReader(index, range: (index.count - 48)..<index.count, context: "t")
        _ = try SSTable.blockHandle(&r)
        let indexHandle = try SSTable.blockHandle(&r)
        var budget = SSTable.Budget(left: .max, indexSize: index.count)
        let indexBlock = try SSTable.blockEntries(index, Int(indexHandle.offset)..<Int(indexHandle.offset + indexHandle.size), name: "m", what: "i", budget: &budget)
        var hr = ProtobufReader(indexBlock[0].value, context: "t")
        let data = try SSTable.blockHandle(&hr)
        let end = Int(data.offset + data.size)
        index[end] = 2
        let crc = CRC32C.mask(CRC32C.checksum(index, range: Int(data.offset)..<(end + 1)))
        index.replaceSubrange((end + 1)..<(end + 5), with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        #expect(errorMessage { _ = try TensorBundle(indexBytes: index, shardBytes: w.shards) }.contains("unknown compression type 2"))
    }

    // MARK: - Building blocks

    @Test func crc32cMatchesKnownValues() {
        func crc(_ b: [UInt8]) -> UInt32 { CRC32C.checksum(b, range: 0..<b.count) }
        #expect(crc(Array("123456789".utf8)) == 0xE306_9283)
        #expect(crc([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
        #expect(crc([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(crc((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(crc(Array("a".utf8)) == 0xC1D0_4330)
        // Slicing-by-8 agrees with the bitwise definition at every length and alignment.
        var rng = Xoshiro256(seed: 3)
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                var c: UInt32 = 0xFFFF_FFFF
                for b in data[start..<end] {
                    c ^= UInt32(b)
                    for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
                }
                #expect(CRC32C.checksum(data, range: start..<end) == ~c)
            }
        }
        let whole = crc(data)
        #expect(CRC32C.checksum(data, range: 100..<300, extending: CRC32C.checksum(data, range: 0..<100)) == whole)
        #expect(CRC32C.mask(whole) != whole)
        #expect(CRC32C.unmask(CRC32C.mask(whole)) == whole)
        #expect(CRC32C.unmask(CRC32C.mask(CRC32C.mask(whole))) == CRC32C.mask(whole))
    }

    @Test func protobufReaderChecksBounds() throws {
        // int32 -5 is sign-extended to ten bytes; field 9 is unknown and skipped.
        let msg = TestProto.varint(1, UInt64(bitPattern: -5)) + TestProto.bytes(9, [1, 2, 3]) + TestProto.fixed32(6, 0xDEAD_BEEF)
            + [0x19] + [UInt8](repeating: 7, count: 8)  // field 3, fixed64
        var r = ProtobufReader(msg, context: "t")
        #expect(try r.nextField()! == (1, .varint))
        #expect(try r.readInt32() == -5)
        let (f, w) = try r.nextField()!
        #expect(f == 9)
        try r.skip(w)
        #expect(try r.nextField()! == (6, .fixed32))
        #expect(try r.readFixed32() == 0xDEAD_BEEF)
        #expect(try r.nextField()! == (3, .fixed64))
        #expect(try r.readFixed64() == 0x0707_0707_0707_0707)
        #expect(try r.nextField() == nil)
        func fails(_ b: [UInt8], _ read: (inout ProtobufReader) throws -> Void) -> Bool {
            var r = ProtobufReader(b, context: "t")
            do { try read(&r) } catch is ElectraError { return true } catch {}
            return false
        }
        #expect(fails([0x80, 0x80]) { _ = try $0.readVarint() })
        #expect(fails([UInt8](repeating: 0xFF, count: 10) + [1]) { _ = try $0.readVarint() })
        #expect(fails([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]) { _ = try $0.readVarint() })
        #expect(fails(TestProto.varint(1, 1 << 40)) { _ = try $0.nextField(); _ = try $0.readInt32() })
        #expect(fails([0x0E]) { _ = try $0.nextField() })  // wire type 6
        #expect(fails([0x00]) { _ = try $0.nextField() })  // field 0
        #expect(fails([0x0A, 0x05, 1]) { _ = try $0.nextField(); _ = try $0.readLengthDelimited() })
        #expect(fails([1, 2, 3]) { _ = try $0.readFixed32() })
        #expect(ProtobufReader([1, 2], range: 5..<9, context: "t").isAtEnd)
    }

    @Test func snappyDecodesEveryElementKind() throws {
        // "abc" then an overlapping 9-byte copy from 3 back (1-byte-offset copy: tag 0x15).
        let abc: [UInt8] = [0x0C, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03]
        #expect(try Snappy.decompress(abc, range: 0..<abc.count, context: "t") == Array("abcabcabcabc".utf8))
        var rng = Xoshiro256(seed: 9)
        for n in [0, 1, 59, 61, 300, 5000, 70000] {
            // Runs, repeats far back and random bytes.
            var input: [UInt8] = []
            while input.count < n {
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: input += [UInt8](repeating: .random(in: 0...255, using: &rng), count: .random(in: 1...80, using: &rng))
                case 1 where input.count > 8:
                    let s = Int.random(in: 0..<(input.count - 4), using: &rng)
                    input += input[s..<min(input.count, s + .random(in: 4...100, using: &rng))]
                default: input += (0..<Int.random(in: 1...90, using: &rng)).map { _ in .random(in: 0...255, using: &rng) }
                }
            }
            input = Array(input.prefix(n))
            let packed = TestSnappy.compress(input)
            #expect(try Snappy.decompress(packed, range: 0..<packed.count, context: "t") == input, "\(n)")
        }
        for bad: [UInt8] in [
            [0x05, 0x08, 0x61, 0x62, 0x63],  // declares 5, holds 3
            [0x03, 0x01, 0x00],  // copy with offset 0
            [0x08, 0x00, 0x61, 0x0D, 0x05],  // copy from before the start
            [0x02, 0x08, 0x61],  // literal past the end
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // length preamble too long
            [0x7F, 0x00, 0x61],  // claims far more than the input could hold
        ] {
            #expect(throws: ElectraError.self) { try Snappy.decompress(bad, range: 0..<bad.count, context: "t") }
        }
        // The preamble is a varint of at most 32 bits: 2^32 - 1 passes it (and then claims
        // too much), 2^32 and an unterminated varint do not.
        func message(_ bytes: [UInt8]) -> String {
            do { _ = try Snappy.decompress(bytes, range: 0..<bytes.count, context: "t"); return "" } catch { return "\(error)" }
        }
        #expect(message([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]).contains("claims 4294967295 bytes"))
        #expect(message([0x80, 0x80, 0x80, 0x80, 0x10, 0x00]).contains("bad length preamble"))
        #expect(message([0x80, 0x80]).contains("bad length preamble"))
    }

    // MARK: - Fuzzing

    /// Seeded mutations of index and data bytes: the reader throws ElectraError or succeeds,
    /// never crashes or hangs. ELECTRA_FUZZ_ITERATIONS scales the run (e.g. 1000000 in release).
    @Test func fuzzedBundlesNeverCrash() throws {
        var multi = TestBundleWriter(blockSize: 120, restartInterval: 2, snappy: true)
        for i in 0..<12 { multi.add("v/\(i)", floats: [Float(i), 1]) }
        var corpus: [(index: [UInt8], shards: [[UInt8]])] = [(multi.indexBytes(), multi.shards)]
        for prefix in ["basic/model.ckpt-1000", "sharded/model.ckpt-5", "partitioned/model.ckpt-1"] {
            let base = Self.root.appendingPathComponent(prefix)
            let files = try FileManager.default.contentsOfDirectory(atPath: base.deletingLastPathComponent().path)
                .filter { $0.hasPrefix(base.lastPathComponent + ".data-") }.sorted()
            corpus.append((try bytes(base.appendingPathExtension("index")), try files.map { try bytes(base.deletingLastPathComponent().appendingPathComponent($0)) }))
        }
        func readAll(_ index: [UInt8], _ shards: [[UInt8]]) throws {
            let bundle = try TensorBundle(indexBytes: index, shardBytes: shards)
            for name in bundle.tensorNames {
                // Each read may fail (corrupt data, partitioned) but must not crash.
                if bundle.info(name)?.dtype.isFloatingPoint == true {
                    _ = try? bundle.floatTensor(name)
                } else {
                    _ = try? bundle.intValues(name)
                }
            }
        }
        let iterations = Fuzzer.iterations(default: 8000)
        var fuzzer = Fuzzer(seed: Fuzzer.seed(default: 20_240_601))
        var accepted = 0
        let start = Date()
        for sample in corpus {
            let indexRun = fuzzer.run(corpus: [sample.index], iterations: iterations / corpus.count) { try readAll($0, sample.shards) }
            accepted += indexRun.accepted
            for s in sample.shards.indices {
                let perShard = iterations / (4 * corpus.count * sample.shards.count)
                accepted += fuzzer.run(corpus: [sample.shards[s]], iterations: perShard) { mutated in
                    var shards = sample.shards
                    shards[s] = mutated
                    try readAll(sample.index, shards)
                }.accepted
            }
        }
        print("TensorBundle fuzz: \(iterations + iterations / 4) mutants, \(accepted) opened, \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        #expect(accepted > 0)
    }

    /// Mutated bytes rarely get past the block CRCs, so this run mutates the entries (header,
    /// entry protos, keys) and rebuilds a well-formed table around them, a quarter with snappy
    /// blocks: the proto parsing and entry checks see the damage. Snappy streams are fuzzed
    /// directly as well.
    @Test func fuzzedEntriesNeverCrash() throws {
        let index = try bytes(Self.basic.appendingPathExtension("index"))
        let data = try bytes(Self.root.appendingPathComponent("basic/model.ckpt-1000.data-00000-of-00001"))
        let table = try SSTable.entries(of: index, name: "m")
        let iterations = Fuzzer.iterations(default: 8000) / 8
        var fuzzer = Fuzzer(seed: Fuzzer.seed(default: 7))
        var opened = 0, rejected = 0
        let start = Date()
        for i in 0..<iterations {
            var w = TestBundleWriter(blockSize: i % 3 == 0 ? 512 : 262_144, restartInterval: 1 + i % 16, snappy: i % 4 == 1, shards: [data])
            w.header = table[0].value
            w.entries = table.dropFirst().map { ($0.key, $0.value) }
            for _ in 0...fuzzer.below(3) {
                let k = fuzzer.below(w.entries.count + 1)
                if k == w.entries.count {
                    w.header = fuzzer.mutate(w.header ?? [])
                } else if fuzzer.below(8) == 0 {
                    w.entries[k].key = fuzzer.mutate(w.entries[k].key)
                } else {
                    w.entries[k].value = fuzzer.mutate(w.entries[k].value, donor: w.entries[fuzzer.below(w.entries.count)].value)
                }
            }
            do {
                let bundle = try w.bundle()
                for name in bundle.tensorNames {
                    _ = try? bundle.info(name)?.dtype.isFloatingPoint == true ? bundle.floatTensor(name).count : bundle.intValues(name).count
                }
                opened += 1
            } catch is ElectraError {
                rejected += 1
            } catch {
                Issue.record("entry mutant \(i) threw \(type(of: error)), not ElectraError: \(error)")
            }
        }
        var rng = Xoshiro256(seed: 5)
        let streams = [Array("abcabcabcabcabc".utf8), (0..<3000).map { _ in UInt8.random(in: 0...3, using: &rng) }, index].map(TestSnappy.compress)
        fuzzer.run(corpus: streams, iterations: iterations) { packed in
            _ = try Snappy.decompress(packed, range: 0..<packed.count, context: "fuzz")
        }
        print("TensorBundle entry fuzz: \(iterations) tables (\(opened) opened, \(rejected) rejected), \(iterations) snappy streams, \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        #expect(opened > 0 && rejected > 0)
    }

    @Test func aStateFileThatIsAFIFOIsRefusedNotWaitedOn() throws {
        let dir = try makeTempFolder("tf1-fifo")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(mkfifo(dir.appendingPathComponent("checkpoint").path, 0o600) == 0)
        #expect(errorMessage { _ = try TensorBundle(prefix: dir) }.hasSuffix("checkpoint is not a regular file"))
    }
}
