import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// Google Research TF1 checkpoints: both towers in one TensorBundle, exported as HF's
/// converter does (references written by HF's own `load_tf_weights_in_electra`).
struct TF1ExportTests {
    static let dir = Fixtures.root.appendingPathComponent("checkpoints/formats/tf1")
    static let prefix = dir.appendingPathComponent("model.ckpt-7")

    func config(_ tower: ElectraTower) throws -> ElectraConfig {
        try ElectraConfig.load(from: Self.dir.appendingPathComponent(tower == .generator ? "gen_config.json" : "disc_config.json"))
    }

    @Test(arguments: ElectraTower.allCases)
    func exportMatchesHFConverter(_ tower: ElectraTower) throws {
        let out = try makeTempFolder("tf1")
        defer { try? FileManager.default.removeItem(at: out) }
        let bundle = try TensorBundle(prefix: Self.prefix)
        let report = try TF1Export.export(bundle, config: config(tower), tower: tower, to: out)
        let got = try SafeTensorsFile(url: out.appendingPathComponent("model.safetensors"))
        let want = try SafeTensorsFile(url: Self.dir.appendingPathComponent("hf_\(tower.rawValue).safetensors"))
        #expect(got.names == want.names)
        for n in want.names {
            #expect(try got.floatTensor(n).scalars == want.floatTensor(n).scalars, "\(tower) \(n)")
        }
        // Every variable is accounted for: converted, Adam slot, bookkeeping or other tower.
        let variables = bundle.tensorNames.count
        #expect(report.optimizerSlots == 2 * (variables - 1) / 3, "\(report.summary)")
        #expect(report.bookkeeping == ["global_step"])
        #expect(report.otherTower > 0)
        #expect(report.converted + report.otherTower + report.bookkeeping.count == variables - report.optimizerSlots, "\(report.summary)")
        let saved = try ElectraConfig.load(from: out.appendingPathComponent("config.json"))
        #expect(saved.architectures == [tower.architecture])
        // Same outputs as the HF model made by HF's converter.
        let (model, _) = try ElectraTask.fromConfig(saved).load(from: out)
        let inputs = try ElectraInputs.read(from: Fixtures.root.appendingPathComponent("checkpoints/formats/inputs.safetensors"))
        let expected = try SafeTensorsFile(url: Self.dir.appendingPathComponent("expected_\(tower.rawValue).safetensors")).floatTensor("logits")
        #expect(maxAbsDiff(try #require(try model(inputs).logits), expected) <= 1e-5)
    }

    @Test func variablesThatDoNotMatchTheConfigAreListed() throws {
        let bundle = try TensorBundle(prefix: Self.prefix)
        /// The message of loading `tower` with its config changed by `edit`.
        func loadError(_ tower: ElectraTower, _ edit: (inout ElectraConfig) -> Void) throws -> String {
            var c = try config(tower)
            edit(&c)
            return errorMessage { _ = try TF1Export.load(bundle, config: c, tower: tower) }
        }
        let deeper = try loadError(.discriminator) { $0.numHiddenLayers = 3 }
        #expect(deeper.contains("Missing: electra.encoder.layer.2.") && deeper.contains("Left over: none"), "\(deeper)")
        let shallower = try loadError(.discriminator) { $0.numHiddenLayers = 1 }
        #expect(shallower.contains("Missing: none")
            && shallower.contains("electra.encoder.layer.1.output.dense.weight (from electra/encoder/layer_1/output/dense/kernel)"), "\(shallower)")
        #expect(try loadError(.generator) { $0.intermediateSize += 1 }.contains("intermediate.dense.weight"))
    }

    @Test func namesFollowHFsConverter() {
        func w(_ n: String, _ t: Bool = false) -> TF1Names.Result { .weight(.init(name: n, transpose: t)) }
        #expect(TF1Names.map("electra/encoder/layer_11/attention/self/query/kernel", tower: .discriminator)
            == w("electra.encoder.layer.11.attention.self.query.weight", true))
        #expect(TF1Names.map("electra/embeddings/word_embeddings", tower: .generator) == w("electra.embeddings.word_embeddings.weight"))
        #expect(TF1Names.map("electra/embeddings_project/kernel", tower: .generator) == .skipped(.otherTower))
        #expect(TF1Names.map("generator/embeddings_project/kernel", tower: .generator) == w("electra.embeddings_project.weight", true))
        #expect(TF1Names.map("generator/encoder/layer_0/output/LayerNorm/gamma", tower: .generator) == w("electra.encoder.layer.0.output.LayerNorm.weight"))
        #expect(TF1Names.map("generator_predictions/output_bias", tower: .generator) == w("generator_lm_head.bias"))
        #expect(TF1Names.map("discriminator_predictions/dense_1/kernel", tower: .discriminator) == w("discriminator_predictions.dense_prediction.weight", true))
        #expect(TF1Names.map("discriminator_predictions/dense/bias", tower: .generator) == .skipped(.otherTower))
        #expect(TF1Names.map("generator/encoder/layer_0/output/dense/kernel/adam_v", tower: .discriminator) == .skipped(.optimizerSlot))
        #expect(TF1Names.map("global_step", tower: .discriminator) == .skipped(.bookkeeping))
        #expect(TF1Names.map("electra/embeddings/LayerNorm/beta", tower: .discriminator) == w("electra.embeddings.LayerNorm.bias"))
    }

    @Test func modelFolderWithATF1CheckpointLoadsTheTowerItsConfigNames() throws {
        let folder = try makeTempFolder("tf1")
        defer { try? FileManager.default.removeItem(at: folder) }
        for f in ["checkpoint", "model.ckpt-7.index", "model.ckpt-7.data-00000-of-00001"] {
            try FileManager.default.copyItem(at: Self.dir.appendingPathComponent(f), to: folder.appendingPathComponent(f))
        }
        var c = try config(.generator)
        c.architectures = [ElectraTower.generator.architecture]
        try c.save(to: folder.appendingPathComponent("config.json"))
        let weights = try CheckpointWeights.open(folder)
        #expect(weights.formatSummary == "tf1")
        let (_, report) = try ElectraForMaskedLM.load(from: folder)
        #expect(report.missing.isEmpty && report.unexpected.isEmpty, "\(report.warnings)")
        let want = try SafeTensorsFile(url: Self.dir.appendingPathComponent("hf_generator.safetensors"))
        let n = "electra.encoder.layer.1.intermediate.dense.weight"
        let got = try #require(try weights.tensor(n))
        let ref = try want.floatTensor(n)
        #expect(got.scalars == ref.scalars, "\(got.shape) vs \(ref.shape): \(maxAbsDiff(got, ref))")
    }
}
