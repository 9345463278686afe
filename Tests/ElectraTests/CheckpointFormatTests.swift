import ElectraHDF5
import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// The same tiny models saved by transformers 4.57 in every format it ships
/// (scripts/reference/make_checkpoint_fixtures.py) must give the same tensors and the same
/// outputs as the safetensors original.
struct CheckpointFormatTests {
    static let root = Fixtures.root.appendingPathComponent("checkpoints/formats")
    static let cases: [(model: String, format: String)] = [
        ("disc", "pytorch"), ("disc", "pytorch_sharded"), ("disc", "flax"), ("disc", "tf2"),
        ("gen", "pytorch"), ("gen", "flax"), ("gen", "tf2"),
    ]
    static let caseNames = cases.map { "\($0.model)/\($0.format)" }

    init() { ElectraHDF5.register() }

    @Test(arguments: caseNames)
    func sameTensorsAsSafetensors(_ name: String) throws {
        let model = String(name.split(separator: "/")[0])
        let reference = try CheckpointWeights.open(Self.root.appendingPathComponent("\(model)/safetensors"))
        let weights = try CheckpointWeights.open(Self.root.appendingPathComponent(name))
        for stored in reference.storedNames where !CheckpointWeights.isIgnored(stored) {
            let want = try #require(try reference.tensor(stored))
            guard let got = try weights.tensor(stored) else {
                Issue.record("\(name): no tensor '\(stored)'")
                continue
            }
            #expect(got.shape == want.shape, "\(name) \(stored)")
            #expect(got.scalars == want.scalars, "\(name) \(stored): values differ (max \(maxAbsDiff(got, want)))")
        }
        // Nothing beyond the reference, except tied copies the reference leaves out.
        let extra = weights.storedNames.map(CheckpointWeights.lookupKey).filter {
            !reference.contains($0) && !CheckpointWeights.isIgnored($0) && $0 != "generator_lm_head.weight"
        }
        #expect(extra.isEmpty, "\(name): unexpected \(extra)")
    }

    @Test(arguments: caseNames)
    func sameOutputsAsPyTorch(_ name: String) throws {
        let model = String(name.split(separator: "/")[0])
        let dir = Self.root.appendingPathComponent(name)
        let config = try ElectraConfig.load(from: dir.appendingPathComponent("config.json"))
        let (m, report) = try ElectraTask.fromConfig(config).load(from: dir)
        #expect(report.missing.isEmpty && report.unexpected.isEmpty, "\(name): \(report.warnings)")
        let inputs = try ElectraInputs.read(from: Self.root.appendingPathComponent("\(model)/inputs.safetensors"))
        let want = try SafeTensorsFile(url: Self.root.appendingPathComponent("\(model)/expected.safetensors")).floatTensor("logits")
        let got = try #require(try m(inputs).logits)
        #expect(got.shape == want.shape)
        #expect(maxAbsDiff(got, want) <= 1e-5, "\(name): max abs diff \(maxAbsDiff(got, want))")
    }

    @Test func formatNamesAreReported() throws {
        let expected = ["pytorch": "pytorch", "pytorch_sharded": "pytorch", "flax": "flax", "tf2": "tf2-h5", "safetensors": "safetensors"]
        for (folder, format) in expected {
            let w = try CheckpointWeights.open(Self.root.appendingPathComponent("disc/\(folder)"))
            #expect(w.formatSummary == format, "\(folder)")
        }
    }

    @Test func flaxAndKerasNamesFollowHF() {
        #expect(FrameworkNames.fromFlax("electra/encoder/layer/1/attention/self/query/kernel")
            == .init(name: "electra.encoder.layer.1.attention.self.query.weight", transpose: true))
        #expect(FrameworkNames.fromFlax("electra/embeddings/LayerNorm/scale") == .init(name: "electra.embeddings.LayerNorm.weight", transpose: false))
        #expect(FrameworkNames.fromFlax("electra/embeddings/word_embeddings/embedding") == .init(name: "electra.embeddings.word_embeddings.weight", transpose: false))
        #expect(FrameworkNames.fromKeras("tf_electra_for_masked_lm/electra/encoder/layer_._11/output/dense/kernel:0")
            == .init(name: "electra.encoder.layer.11.output.dense.weight", transpose: true))
        #expect(FrameworkNames.fromKeras("tf_electra_model/electra/embeddings/position_embeddings/embeddings:0")
            == .init(name: "electra.embeddings.position_embeddings.weight", transpose: false))
        #expect(FrameworkNames.fromKeras("m/electra/embeddings/LayerNorm/beta:0") == .init(name: "electra.embeddings.LayerNorm.bias", transpose: false))
        // HF keeps a single scope, and applies its `/x___y/` rule without overlapping matches.
        #expect(FrameworkNames.fromKeras("final_logits_bias:0") == .init(name: "final_logits_bias", transpose: false))
        #expect(FrameworkNames.fromKeras("m/a___b/c___d/kernel:0") == .init(name: "b.c___d.weight", transpose: true))
        #expect(FrameworkNames.fromKeras("m/x___y___z/layer_._3//dense/kernel:0") == .init(name: "z.layer.3.dense.weight", transpose: true))
    }

    @Test func corruptFlaxAndHDF5FilesAreClearErrors() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("electra-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let flax = try Data(contentsOf: Self.root.appendingPathComponent("disc/flax/flax_model.msgpack"))
        let h5 = try Data(contentsOf: Self.root.appendingPathComponent("disc/tf2/tf_model.h5"))
        for (file, data) in [("flax_model.msgpack", flax), ("tf_model.h5", h5)] {
            for cut in [0, 7, data.count / 3, data.count - 1] {
                let url = tmp.appendingPathComponent(file)
                try data.prefix(cut).write(to: url)
                #expect {
                    _ = try CheckpointWeights.open(url)
                } throws: { e in
                    (e as? ElectraError)?.message.contains(file) == true
                }
            }
        }
    }

    @Test func flaxArrayOfWrongSizeNamesTheParameter() throws {
        // {"w": ext1([[2], "float32", 4 bytes])}: two floats need 8 bytes.
        var payload: [UInt8] = [0x93, 0x91, 0x02, 0xA7] + Array("float32".utf8) + [0xC4, 0x04, 0, 0, 0, 0]
        var bytes: [UInt8] = [0x81, 0xA1, UInt8(ascii: "w"), 0xC7, UInt8(payload.count), 0x01]
        bytes += payload
        payload = []
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).msgpack")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect {
            _ = try FlaxCheckpointFile(url: url)
        } throws: { e in
            let m = (e as? ElectraError)?.message ?? ""
            return m.contains("'w'") && m.contains("needs 8")
        }
    }

    @Test func unknownFileAndEmptyFolderAreClearErrors() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("electra-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        #expect {
            _ = try CheckpointWeights.open(tmp)
        } throws: { e in
            let m = (e as? ElectraError)?.message ?? ""
            return m.contains("no weights") && m.contains("pytorch_model.bin") && m.contains("flax_model.msgpack") && m.contains("tf_model.h5")
        }
        let odd = tmp.appendingPathComponent("weights.xyz")
        try Data([1, 2, 3]).write(to: odd)
        #expect {
            _ = try CheckpointWeights.open(odd)
        } throws: { e in
            (e as? ElectraError)?.message.contains("unrecognised checkpoint file") == true
        }
    }

    @Test func shardedPyTorchWithAMissingOrTruncatedShardIsAClearError() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("electra-shards-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("disc/pytorch_sharded"), to: tmp)
        let shard2 = tmp.appendingPathComponent("pytorch_model-00002-of-00002.bin")
        let bytes = try Data(contentsOf: shard2)
        try FileManager.default.removeItem(at: shard2)
        #expect {
            _ = try CheckpointWeights.open(tmp)
        } throws: { e in
            let m = (e as? ElectraError)?.message ?? ""
            return m.contains("pytorch_model.bin.index.json") && m.contains("pytorch_model-00002-of-00002.bin") && m.contains("does not exist")
        }
        for cut in [10, bytes.count / 2, bytes.count - 30] {
            try bytes.prefix(cut).write(to: shard2)
            #expect {
                _ = try CheckpointWeights.open(tmp)
            } throws: { e in
                ((e as? ElectraError)?.message ?? "").contains("pytorch_model-00002-of-00002.bin")
            }
        }
    }

    /// Damaged Flax files (and their array records) are refused with ElectraError, never a
    /// crash; every tensor of a mutant that parses is read.
    @Test func fuzzedFlaxFilesNeverCrash() throws {
        let corpus = try ["disc", "gen"].map {
            [UInt8](try Data(contentsOf: Self.root.appendingPathComponent("\($0)/flax/flax_model.msgpack")))
        }
        var fuzzer = Fuzzer(seed: Fuzzer.seed(default: 11))
        let url = URL(fileURLWithPath: "fuzz/flax_model.msgpack")
        let s = fuzzer.run(corpus: corpus, iterations: Fuzzer.iterations(default: 3000)) { bytes in
            let f = try FlaxCheckpointFile(bytes: bytes, url: url)
            for n in f.tensorNames where f.info(n)!.dtype.isFloatingPoint { _ = try f.floatTensor(n) }
        }
        print("Flax fuzz: \(s.accepted + s.rejected) mutants, \(s.accepted) opened, \(s.rejected) refused, \(String(format: "%.2f", s.seconds)) s")
        #expect(s.rejected > 0 && s.accepted > 0, "\(s)")
    }

    /// HDF5 files can link to other files and hold data that is compressed or never written:
    /// links are not followed, the others are refused before any large allocation.
    @Test func hdf5LinksCompressionAndUnwrittenDataAreHandled() throws {
        let dir = Fixtures.root.appendingPathComponent("checkpoints/h5")
        let links = try HDF5File(url: dir.appendingPathComponent("links.h5"))
        #expect(links.tensorNames == ["electra/m/electra/embeddings/LayerNorm/gamma:0"])
        #expect(try links.floatTensor(links.tensorNames[0]).scalars == [0, 1, 2, 3])
        #expect {
            _ = try HDF5File(url: dir.appendingPathComponent("compressed.h5"))
        } throws: { e in ((e as? ElectraError)?.message ?? "").contains("compressed.h5: dataset 'electra/m/electra/embeddings/LayerNorm/gamma:0' is compressed") }
        #expect {
            _ = try HDF5File(url: dir.appendingPathComponent("unwritten.h5"))
        } throws: { e in ((e as? ElectraError)?.message ?? "").contains("stores fewer") }
    }

    @Test func shardNamesMustStayInTheIndexFolder() throws {
        let tmp = try makeTempFolder("shard-names")
        defer { try? FileManager.default.removeItem(at: tmp) }
        for bad in ["../pytorch_model-00001-of-00002.bin", "/etc/passwd", "sub/x.bin", ""] {
            let index = tmp.appendingPathComponent("pytorch_model.bin.index.json")
            try Data(#"{"weight_map": {"electra.embeddings.word_embeddings.weight": "\#(bad)"}}"#.utf8).write(to: index)
            #expect(errorMessage { _ = try CheckpointWeights.open(tmp) }
                == "pytorch_model.bin.index.json: weight_map entry 'electra.embeddings.word_embeddings.weight' is not a file name in the index's folder", "\(bad)")
        }
    }
}
