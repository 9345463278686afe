import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// Fixtures: scripts/reference/make_pytorch_fixtures.py (torch 2.15).
struct PyTorchCheckpointTests {
    static let dir = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/checkpoints/pytorch")
    static func url(_ name: String) -> URL { dir.appendingPathComponent(name) }
    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }
    /// What the evil_*.bin pickles would create if anything ran them.
    static let marker = "/tmp/electra-pytorch-fixture-pwned"
    static let goodFiles = ["state_dict.bin", "state_dict_proto4.bin", "state_dict_zip64.bin"]

    /// The message of the ElectraError `body` throws; records an issue if it throws none.
    func errorMessage(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            try body()
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch let e as ElectraError {
            return e.message
        } catch {
            Issue.record("expected ElectraError, got \(error)", sourceLocation: sourceLocation)
        }
        return ""
    }

    // MARK: reading

    @Test(arguments: goodFiles)
    func readsEveryTensorExactly(file: String) throws {
        let f = try PyTorchCheckpointFile(url: Self.url(file))
        let expected = try SafeTensorsFile(url: Self.url("state_dict.safetensors"))
        #expect(f.formatName == "pytorch")
        #expect(f.tensorNames == expected.names)  // the int "step" is skipped
        for name in expected.names {
            let info = try #require(f.info(name))
            #expect(info.shape == expected.records[name]?.shape, "\(name)")
            #expect(info.dtype.rawValue == expected.metadata["dtype.\(name)"], "\(name)")
            if info.dtype.isFloatingPoint {
                let got = try f.floatTensor(name).scalars.map(\.bitPattern)
                #expect(got == (try expected.floatTensor(name).scalars.map(\.bitPattern)), "\(file): \(name)")
            } else {
                let message = errorMessage { _ = try f.floatTensor(name) }
                #expect(message.contains("'\(name)' is \(info.dtype.rawValue), expected a floating-point type"))
            }
        }
        #expect(f.info("step") == nil)
    }

    @Test func tiedWeightsAndOffsetViewsAreViewsOfTheMapping() throws {
        let f = try PyTorchCheckpointFile(url: Self.url("state_dict.bin"))
        let file = f.backing
        let embed = try f.floatTensor("embeddings.word_embeddings.weight")
        let head = try f.floatTensor("lm_head.weight")
        let p = UnsafeRawPointer(embed.pointer)
        #expect(p >= UnsafeRawPointer(file.base) && p < UnsafeRawPointer(file.base + file.size))
        #expect(head.pointer == embed.pointer)  // tied: one storage, no copy
        let qkv = try f.floatTensor("attn.qkv"), k = try f.floatTensor("attn.k")
        #expect(k.pointer == qkv.pointer + 8)  // qkv[2:4]: storage offset 8
        let vt = try #require(f.records["attn.v_t"])
        #expect(!vt.isContiguous && vt.offset == 16 && vt.strides == [1, 4])
        #expect(vt.storageKey == f.records["attn.qkv"]?.storageKey)
    }

    @Test func readsFromMemoryLikeFromDisk() throws {
        let f = try PyTorchCheckpointFile(bytes: try Self.bytes("state_dict.bin"), url: URL(fileURLWithPath: "/m/mem.bin"))
        let disk = try PyTorchCheckpointFile(url: Self.url("state_dict.bin"))
        #expect(f.tensorNames == disk.tensorNames)
        for name in f.tensorNames where f.info(name)?.dtype.isFloatingPoint == true {
            #expect(try f.floatTensor(name).scalars.map(\.bitPattern) == (try disk.floatTensor(name).scalars.map(\.bitPattern)))
        }
    }

    // MARK: hostile files

    @Test func hostilePicklesAreRefusedAndNothingRuns() throws {
        try? FileManager.default.removeItem(atPath: Self.marker)
        let cases = [
            ("evil_os_system.bin", "os.system"),  // GLOBAL + REDUCE that would `touch` the marker
            ("evil_builtins_eval.bin", "builtins.eval"),
            ("evil_posix_system_proto4.bin", "posix.system"),  // STACK_GLOBAL
            ("evil_counter.bin", "collections.Counter"),  // _rebuild_tensor_v2 swapped for another callable
        ]
        for (file, global) in cases {
            let message = errorMessage { _ = try PyTorchCheckpointFile(url: Self.url(file)) }
            #expect(message == "\(file): data.pkl references the global '\(global)', which a checkpoint must not contain; refusing to load (nothing was executed)")
        }
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    /// Runs the unpickler on raw pickle bytes; returns the kind of the result.
    /// (`maxObjects` nil: the budget the reader gives a pickle of this size.)
    func unpickle(_ bytes: [UInt8], maxObjects: Int? = nil) throws -> String {
        try bytes.withUnsafeBytes { b in
            try Unpickler.load(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, range: 0..<b.count, file: "t.bin", member: "data.pkl", maxObjects: maxObjects) { $0.kind }
        }
    }

    static func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }
    static func global(_ module: String, _ name: String) -> [UInt8] { ascii("c\(module)\n\(name)\n") }
    static func unicode(_ s: String) -> [UInt8] { [0x58] + withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init) + ascii(s) }

    @Test func onlyAllowedCallablesMayBeCalled() throws {
        let p2: [UInt8] = [0x80, 0x02]
        let cases: [([UInt8], String)] = [
            (p2 + Self.global("torch", "FloatStorage") + Self.ascii(")R."), "calls 'torch.FloatStorage', which a checkpoint may only name as a storage type; refusing to load (nothing was executed)"),
            (p2 + Self.unicode("os.system") + Self.ascii(")R."), "calls a string, which is not callable"),
            (p2 + Self.global("torch._utils", "_rebuild_tensor_v2") + Self.ascii(")") + [0x81, 0x2E], "with NEWOBJ"),
            (p2 + Self.ascii("]Nb."), "sets the state of a list with BUILD"),
            (p2 + Self.ascii("(ios\nsystem\nS'x'\n."), "uses the pickle opcode INST"),
            (p2 + [0x82, 0x01, 0x2E], "uses the pickle opcode EXT1"),
            (p2 + Self.global("collections", "OrderedDict") + Self.ascii("]") + [0x85] + Self.ascii("R."), "called with 1 arguments"),
            (p2 + Self.global("os\u{7}", "system") + Self.ascii("."), "references the global 'os?.system'"),
            (p2 + Self.global("torch", "ComplexFloatStorage") + Self.ascii("."), "storage type 'torch.ComplexFloatStorage', which is not supported"),
            (p2 + Self.global("torch._utils", "_rebuild_tensor_v2") + Self.ascii("(K\u{1}K\u{2}tR."), "_rebuild_tensor_v2 needs (storage"),
            (p2 + Self.ascii("(U\u{7}storageK\u{1}U\u{1}0U\u{3}cpuK\u{4}tQ."), "names an int as its storage type"),
        ]
        for (pickle, fragment) in cases {
            let message = errorMessage { _ = try unpickle(pickle) }
            #expect(message.hasPrefix("t.bin: data.pkl "), "\(message)")
            #expect(message.contains(fragment), "\(message)")
        }
    }

    @Test func malformedPicklesAreClearErrors() throws {
        let p2: [UInt8] = [0x80, 0x02]
        let cases: [([UInt8], String)] = [
            ([], "ends in the middle of the opcode at byte 0"),
            (p2, "the pickle is truncated"),
            (p2 + Self.unicode("abc").dropLast(), "needs 3 more bytes, 2 left"),
            (p2 + [0x58, 100, 0, 0, 0] + Self.ascii("abc."), "needs 100 more bytes"),
            (p2 + Self.ascii("0."), "stack underflow"),
            (p2 + [0x4E, 0x28, 0x85, 0x2E], "stack underflow"),  // TUPLE1 may not reach below the MARK
            (p2 + Self.ascii("h\u{5}."), "memo entry 5 is read before it is written"),
            (p2 + [0xFF], "unknown pickle opcode 0xff"),
            ([0x80, 0x09], "pickle protocol 9"),
            (p2 + Self.ascii("Nt."), "needs a MARK"),
            (p2 + Self.ascii("]NNs."), "SETITEM on a list"),
            (p2 + Self.ascii("}(Nu."), "odd number"),
            (p2 + [0x8C, 0x02, 0xFF, 0xFE, 0x2E], "not valid UTF-8"),
            (p2 + Self.ascii("cos"), "truncated"),
        ]
        for (pickle, fragment) in cases {
            let message = errorMessage { _ = try unpickle(pickle) }
            #expect(message.contains(fragment), "\(message)")
        }
        // Object count is capped: a pickle of endless empty lists stops at the budget.
        let flood = p2 + [UInt8](repeating: 0x5D, count: 2000) + [0x2E]
        #expect(errorMessage { _ = try unpickle(flood, maxObjects: 1000) }.contains("too many objects"))
        #expect(try unpickle(flood) == "a list")
    }

    @Test func cyclesDeepNestingAndBigIntsAreHarmless() throws {
        let p2: [UInt8] = [0x80, 0x02]
        #expect(try unpickle(p2 + Self.ascii("]q\u{0}h\u{0}a.")) == "a list")  // a list inside itself
        // 300k nested 1-tuples, and 300k lists each appended to the previous: freeing either
        // must not recurse once per level.
        #expect(try unpickle(p2 + [0x4E] + [UInt8](repeating: 0x85, count: 300_000) + [0x2E], maxObjects: Unpickler.maxObjects) == "a tuple")
        var chain = p2 + Self.ascii("]q\u{0}")  // memo 0: the innermost list so far
        for _ in 0..<300_000 { chain += Self.ascii("h\u{0}]q\u{0}a0") }
        #expect(try unpickle(chain + [0x2E]) == "a list")
        #expect(try unpickle(p2 + [0x8A, 9] + [UInt8](repeating: 0xFF, count: 9) + [0x2E]) == "an int")
        #expect(try unpickle(p2 + [0x8A, 2, 0xFE, 0xFF, 0x85, 0x2E]) == "a tuple")
    }

    /// The object budget grows with the pickle: a small pickle cannot make millions of
    /// objects (TUPLE1 makes two per byte), whatever the global cap.
    @Test func objectBudgetScalesWithThePickle() throws {
        let p2: [UInt8] = [0x80, 0x02]
        #expect(Unpickler.objectBudget(forPickleOf: 1000) == 66_536)
        #expect(Unpickler.objectBudget(forPickleOf: 1 << 30) == Unpickler.maxObjects)
        let nested = p2 + [0x4E] + [UInt8](repeating: 0x85, count: 200_000) + [0x2E]
        #expect(errorMessage { _ = try unpickle(nested) }.contains("too many objects"))
        #expect(try unpickle(nested, maxObjects: Unpickler.maxObjects) == "a tuple")
        #expect(try unpickle(p2 + [UInt8](repeating: 0x4E, count: 200_000) + [0x2E]) == "None")  // one per byte
    }

    /// `n` calls of _rebuild_tensor_v2 that all fetch one memoized size tuple (and use it as
    /// the stride too) with BINGET: a list of n tensors of rank `rank`.
    static func sharedShapePickle(rank: Int, tensors n: Int) -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02] + global("torch._utils", "_rebuild_tensor_v2") + [0x71, 0]  // memo 0
        p += ascii("(") + unicode("storage") + global("torch", "FloatStorage") + unicode("0") + unicode("cpu") + [0x4B, 4]
        p += ascii("t") + [0x51, 0x71, 1, 0x30]  // BINPERSID, memo 1: the storage
        p += ascii("(") + Array([[UInt8]](repeating: [0x4B, 1], count: rank).joined()) + ascii("t") + [0x71, 2, 0x30]  // memo 2
        p += ascii("](")
        for _ in 0..<n { p += [0x68, 0, 0x28, 0x68, 1, 0x4B, 0, 0x68, 2, 0x68, 2, 0x89, 0x4E, 0x74, 0x52] }
        return p + ascii("e.")
    }

    /// A tuple of 100k ints fetched by BINGET for 50 tensors would be copied 100 times (and
    /// for 10^4 tensors, 10^9 ints from 0.2 MB); ranks are capped before copying, and every
    /// copied size counts against the object budget.
    @Test func sharedShapeTuplesAreBoundedPerTensor() throws {
        #expect(try unpickle(Self.sharedShapePickle(rank: 4, tensors: 100)) == "a list")
        #expect(errorMessage { _ = try unpickle(Self.sharedShapePickle(rank: 100_000, tensors: 50)) }
            .contains("a tensor has 100000 dimensions, more than the 64 accepted"))
        // Rank 64 passes the cap, but 10k tensors copy 1.28M sizes out of a 0.15 MB pickle.
        let wide = Self.sharedShapePickle(rank: 64, tensors: 10_000)
        #expect(errorMessage { _ = try unpickle(wide) }.contains("too many objects"))
        #expect(try unpickle(Self.sharedShapePickle(rank: 64, tensors: 100)) == "a list")
        #expect(errorMessage { _ = try unpickle(Self.sharedShapePickle(rank: 65, tensors: 1)) }.contains("65 dimensions"))
    }

    @Test func longIntsDecodeAsTwosComplement() throws {
        func decode(_ bytes: [UInt8]) throws -> Int? {
            try bytes.withUnsafeBytes { b in
                try Unpickler.load(b.baseAddress!, range: 0..<b.count, file: "t.bin", member: "data.pkl") { v -> Int? in
                    if case .int(let i) = v { return i } else { return nil }
                }
            }
        }
        #expect(try decode([0x8A, 0x00, 0x2E]) == 0)
        #expect(try decode([0x8A, 0x02, 0xFE, 0xFF, 0x2E]) == -2)
        #expect(try decode([0x8A, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2E]) == 1 << 32)
        #expect(try decode([0x8A, 0x08] + [UInt8](repeating: 0xFF, count: 7) + [0x7F, 0x2E]) == Int.max)
        #expect(try decode([0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]) == -1)  // BININT is signed
        #expect(try decode([0x4D, 0xFF, 0xFF, 0x2E]) == 65535)  // BININT2 is not
    }

    // MARK: damaged and unsupported files

    @Test func damagedAndUnsupportedFilesAreClearErrors() throws {
        let cases: [(String, [String])] = [
            ("truncated_pickle.bin", ["data.pkl ends in the middle of the opcode", "truncated"]),
            ("short_storage.bin", ["tensor 'embeddings.word_embeddings.weight' uses storage '0' of 20 F32 elements, but 'state_dict/data/0' holds only 40 bytes"]),
            ("view_out_of_bounds.bin", ["tensor 'past_the_end' (shape [2, 2], stride [2, 1], offset 2) reaches element 5 of its storage '0', which holds only 4 elements"]),
            ("top_level_list.bin", ["the pickled object is a list, not a state dict"]),
            ("training_checkpoint.bin", ["holds no tensors, only nested containers ('model')"]),
            ("big_endian.bin", ["byte order 'big'"]),
            ("compressed.bin", ["the zip entry 'state_dict/data/0' is compressed (method 8)"]),
            ("uint16.bin", ["holds a tensor rebuilt by 'torch._utils._rebuild_tensor_v3'", "only plain dense tensors"]),
            ("legacy.bin", ["legacy torch.save format", "re-save with torch>=1.6", "or convert"]),
        ]
        for (file, fragments) in cases {
            let message = errorMessage { _ = try PyTorchCheckpointFile(url: Self.url(file)) }
            #expect(message.hasPrefix("\(file): "), "\(message)")
            for f in fragments { #expect(message.contains(f), "\(file): \(message)") }
        }
    }

    @Test(arguments: goodFiles)
    func everyTruncationIsAnErrorNamingTheFile(file: String) throws {
        let good = try Self.bytes(file)
        let name = URL(fileURLWithPath: "/x/cut.bin")
        for cut in stride(from: 0, to: good.count, by: 5) {
            let message = errorMessage { _ = try PyTorchCheckpointFile(bytes: Array(good[..<cut]), url: name) }
            #expect(message.hasPrefix("cut.bin: "), "cut at \(cut): \(message)")
        }
    }

    /// The members of a good fixture, to rebuild variants with `StoredZip`.
    static func members(_ file: String) throws -> [(String, [UInt8])] {
        let bytes = try Self.bytes(file)
        return try bytes.withUnsafeBytes { b in
            let zip = try ZipArchive(base: b.baseAddress!, size: b.count, source: file)
            return zip.names.map { n in (n, Array(b[zip.entries[n]!.data])) }
        }
    }

    @Test func archiveLayoutProblemsAreClearErrors() throws {
        let members = try Self.members("state_dict.bin")
        let name = URL(fileURLWithPath: "/x/built.bin")
        func load(_ entries: [(String, [UInt8])]) -> String {
            errorMessage { _ = try PyTorchCheckpointFile(bytes: StoredZip.build(entries), url: name) }
        }
        #expect(try PyTorchCheckpointFile(bytes: StoredZip.build(members), url: name).tensorNames.count == 14)
        #expect(load(members.filter { $0.0 != "state_dict/data/3" }).contains("uses storage '3', but the archive has no member 'state_dict/data/3'"))
        #expect(load(members + [("state_dict/constants.pkl", [0x2E])]).contains("TorchScript"))
        #expect(load(members + [("other/data.pkl", [0x2E])]).contains("several pickles"))
        #expect(load(members.filter { !$0.0.hasSuffix("data.pkl") }).contains("no '<folder>/data.pkl'"))
        #expect(load(members + [members[0]]).contains("appears twice"))
        #expect(load([]).contains("no '<folder>/data.pkl'"))
        let notZip = errorMessage { _ = try PyTorchCheckpointFile(bytes: Array("hello".utf8), url: name) }
        #expect(notZip == "built.bin: invalid zip archive: only 5 bytes, too short to be a zip archive")
    }

    // MARK: fuzzing

    /// Mutants of whole files, then of the pickle alone (re-zipped), must load or throw
    /// ElectraError. ELECTRA_FUZZ_ITERATIONS sets the count (default: a few seconds in debug).
    @Test func fuzzedCheckpointsNeverCrash() throws {
        let total = Fuzzer.iterations(default: 2000)
        let name = URL(fileURLWithPath: "/fuzz/fuzz.bin")
        func exercise(_ bytes: [UInt8]) throws {
            let f = try PyTorchCheckpointFile(bytes: bytes, url: name)
            for n in f.tensorNames {
                _ = f.info(n)
                do { _ = try f.floatTensor(n) } catch is ElectraError {}
            }
        }
        let files = Self.goodFiles + ["evil_counter.bin", "view_out_of_bounds.bin", "evil_posix_system_proto4.bin"]
        var fuzzer = Fuzzer(seed: Fuzzer.seed(default: 0x5EED))
        let whole = fuzzer.run(corpus: try files.map(Self.bytes), iterations: total / 2) { try exercise($0) }

        // Pickle-only mutants keep the archive valid, so the unpickler and view checks see them.
        let archives = try Self.goodFiles.map(Self.members)
        let pickles = archives.map { m in m.first { $0.0.hasSuffix("data.pkl") }!.1 }
        var index = 0
        let pickleOnly = fuzzer.run(corpus: pickles, iterations: total - total / 2) { pickle in
            index += 1
            let members = archives[index % archives.count].map { $0.0.hasSuffix("data.pkl") ? ($0.0, pickle) : $0 }
            try exercise(StoredZip.build(members))
        }
        print("fuzz: \(total) mutants, whole files \(whole.accepted) loaded / \(whole.rejected) refused in \(whole.seconds) s, pickles \(pickleOnly.accepted) / \(pickleOnly.rejected) in \(pickleOnly.seconds) s")
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }
}

/// Builds a zip of stored members (no alignment, CRCs left 0: the reader does not check them).
enum StoredZip {
    static func build(_ members: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ to: inout [UInt8]) { to += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int, _ to: inout [UInt8]) { u16(v & 0xFFFF, &to); u16(v >> 16 & 0xFFFF, &to) }
        for (name, data) in members {
            let n = Array(name.utf8), offset = out.count
            u32(0x0403_4B50, &out)
            for v in [20, 0, 0, 0, 0] { u16(v, &out) }
            for v in [0, data.count, data.count] { u32(v, &out) }
            u16(n.count, &out); u16(0, &out)
            out += n + data
            u32(0x0201_4B50, &central)
            for v in [20, 20, 0, 0, 0, 0] { u16(v, &central) }
            for v in [0, data.count, data.count] { u32(v, &central) }
            for v in [n.count, 0, 0, 0, 0] { u16(v, &central) }
            u32(0, &central); u32(offset, &central)
            central += n
        }
        let cdOffset = out.count
        out += central
        u32(0x0605_4B50, &out)
        for v in [0, 0, members.count, members.count] { u16(v, &out) }
        u32(central.count, &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }
}
