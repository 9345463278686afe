import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// from_pretrained behaviour: any checkpoint into any class, as HF does it.
struct LoadingTests {
    let base = Fixtures.models.appendingPathComponent("base_gelu_e16_h32/model")
    let pretraining = Fixtures.models.appendingPathComponent("pretraining_relu_e30_h30/model")
    let generator = Fixtures.models.appendingPathComponent("maskedlm_gelu_new_e16_h32/model")

    @Test func baseCheckpointIntoAHeadInitialisesTheHead() throws {
        let (m, report) = try ElectraForSequenceClassification.load(from: base)
        #expect(Set(report.missing) == ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"])
        #expect(report.unexpected.isEmpty)
        #expect(report.warnings.first?.contains("newly initialized") == true)
        let w = m.dense.weight.value.scalars
        let std = (w.map { $0 * $0 }.reduce(0, +) / Float(w.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.004, "HF init is normal(0, initializer_range): std \(std)")
        #expect(m.dense.bias!.value.scalars.allSatisfy { $0 == 0 })
        // The backbone came from the file (`electra.` prefix added on lookup).
        let plain = try ElectraModel.load(from: base).model
        #expect(m.backbone.embeddings.word.value.scalars == plain.backbone.embeddings.word.value.scalars)
    }

    /// --reinit-layers: the top layers are drawn as HF initialises them, the rest and the
    /// embeddings stay the checkpoint's.
    @Test func reinitializingTopLayersRedrawsOnlyThem() throws {
        let (m, _) = try ElectraForSequenceClassification.load(from: base)
        let (kept, _) = try ElectraForSequenceClassification.load(from: base)
        let L = m.config.numHiddenLayers
        #expect(L >= 2)
        #expect(try m.reinitializeTopLayers(0, seed: 1).isEmpty)
        let touched = try m.reinitializeTopLayers(1, seed: 1)
        let top = "electra.encoder.layer.\(L - 1)."
        #expect(!touched.isEmpty && touched.allSatisfy { $0.hasPrefix(top) })
        for (name, p) in m.parameters.uniqueParameters {
            let before = kept.parameters[name]!.value.scalars, after = p.value.scalars
            guard name.hasPrefix(top) else {
                #expect(after == before, "\(name) changed")
                continue
            }
            switch p.role {
            case .linearWeight:
                #expect(after != before, "\(name) not redrawn")
                let std = (after.map { $0 * $0 }.reduce(0, +) / Float(after.count)).squareRoot()
                #expect(abs(std - m.config.initializerRange) < 0.3 * m.config.initializerRange, "\(name): std \(std)")
            case .layerNormWeight: #expect(after.allSatisfy { $0 == 1 })
            default: #expect(after.allSatisfy { $0 == 0 })
            }
        }
        #expect(errorMessage { _ = try m.reinitializeTopLayers(L + 1, seed: 1) }.contains("the model has \(L) encoder layers"))
    }

    @Test func headCheckpointIntoTheBaseModelListsUnusedWeights() throws {
        let (_, report) = try ElectraModel.load(from: pretraining)
        #expect(report.missing.isEmpty)
        #expect(Set(report.unexpected) == [
            "discriminator_predictions.dense.weight", "discriminator_predictions.dense.bias",
            "discriminator_predictions.dense_prediction.weight", "discriminator_predictions.dense_prediction.bias",
        ])
    }

    @Test func generatorHeadIsTiedToTheWordEmbeddings() throws {
        let (m, report) = try ElectraForMaskedLM.load(from: generator)
        #expect(report.missing.isEmpty, "the tied weight is not missing")
        let table = m.parameters
        #expect(table["generator_lm_head.weight"] === table["electra.embeddings.word_embeddings.weight"])
        #expect(table.tiedNames == ["generator_lm_head.weight"])
        // Counted once, as HF's num_parameters() does.
        let all = table.entries.reduce(0) { $0 + $1.parameter.value.count }
        #expect(table.parameterCount == all - m.config.vocabSize * m.config.embeddingSize)
    }

    /// Q, K and V run as one product over a shared [3H, H] block; the HF-named parameters
    /// are views of it, so a change made through a name (an optimizer step, a restore) is
    /// what the next forward pass computes with.
    @Test func queryKeyValueAreViewsOfOneFusedProjection() throws {
        let (m, _) = try ElectraModel.load(from: base)
        let H = m.config.hiddenSize
        let layer = m.backbone.layers[0]
        #expect(layer.qkv.weight.shape == [3 * H, H])
        #expect(layer.query.weight.pointer == layer.qkv.weight.pointer)
        #expect(layer.key.weight.pointer == layer.qkv.weight.pointer + H * H)
        #expect(layer.value.weight.pointer == layer.qkv.weight.pointer + 2 * H * H)
        #expect(layer.value.bias!.pointer == layer.qkv.bias!.pointer + 2 * H)
        // The values are the checkpoint's, and the table hands out the views.
        let file = try CheckpointWeights.open(base)
        #expect(try file.tensor("encoder.layer.0.attention.self.key.weight")!.scalars == layer.key.weight.value.scalars)
        #expect(m.parameters["encoder.layer.0.attention.self.value.bias"] === layer.value.bias)
        // Writing through the name changes the output exactly as a reload with that value does.
        let inputs = ElectraInputs(ids: [[1, 5, 9, 2]])
        let before = try m(inputs).lastHiddenState!.scalars
        layer.value.bias!.pointer[0] += 0.5
        let after = try m(inputs).lastHiddenState!.scalars
        #expect(before != after)
    }

    @Test func wrongShapeNamesTheTensorAndBothShapes() throws {
        var c = try ElectraConfig.load(from: base.appendingPathComponent("config.json"))
        c.intermediateSize = 40
        #expect {
            _ = try ElectraModel.load(config: c, weights: try CheckpointWeights.open(base))
        } throws: { e in
            let s = "\(e)"
            return s.contains("encoder.layer.0.intermediate.dense.weight") && s.contains("[37, 32]") && s.contains("[40, 32]")
        }
    }

    @Test func missingFilesAreClearErrors() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("electra-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect { _ = try ElectraModel.load(from: empty) } throws: { "\($0)".contains("missing config.json") }
        try FileManager.default.copyItem(at: base.appendingPathComponent("config.json"), to: empty.appendingPathComponent("config.json"))
        #expect { _ = try ElectraModel.load(from: empty) } throws: { "\($0)".contains("expected one of model.safetensors, pytorch_model.bin") }
        #expect { _ = try ElectraModel.load(from: empty.appendingPathComponent("nope")) } throws: { "\($0)".contains("does not exist") }
    }

    @Test func shardIndexPointingAtAMissingShardIsAnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("electra-shard-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Fixtures.models.appendingPathComponent("base_gelu_e16_h32_sharded/model"), to: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model-00002-of-00004.safetensors"))
        #expect { _ = try CheckpointWeights.open(dir) } throws: { "\($0)".contains("model-00002-of-00004.safetensors") }
    }

    @Test func savedWeightsReloadToTheSameOutputs() throws {
        // ElectraConfig + safetensors written by us load back bit-identically.
        let (m, _) = try ElectraForPreTraining.load(from: pretraining)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("electra-save-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try m.config.save(to: dir.appendingPathComponent("config.json"))
        try SafeTensorsWriter.write(m.parameters.uniqueParameters.map { ($0.name, .float($0.parameter.value)) },
                                    to: dir.appendingPathComponent("model.safetensors"))
        let (again, report) = try ElectraForPreTraining.load(from: dir)
        #expect(report.missing.isEmpty && report.unexpected.isEmpty)
        let inputs = ElectraInputs(ids: [[1, 5, 9, 2]])
        #expect(try m(inputs).logits!.scalars == again(inputs).logits!.scalars)
    }
}

struct InputValidationTests {
    let model: ElectraForTokenClassification = {
        var c = ElectraConfig()
        c.vocabSize = 50; c.embeddingSize = 8; c.hiddenSize = 8; c.numHiddenLayers = 1
        c.numAttentionHeads = 2; c.intermediateSize = 16; c.maxPositionEmbeddings = 6
        c.setNumLabels(3)
        return try! ElectraForTokenClassification(config: c, seed: 1)
    }()

    func fails(_ inputs: ElectraInputs, _ message: String) {
        #expect {
            _ = try model(inputs)
        } throws: { "\($0)".contains(message) }
    }

    @Test func rejectsBadInputsWithTheirLocation() {
        fails(ElectraInputs(ids: [[1, 2, 50]]), "input_ids[0][2] = 50 is outside the vocabulary (vocab_size 50)")
        fails(ElectraInputs(ids: [[1, -1]]), "input_ids[0][1] = -1")
        fails(ElectraInputs(ids: [[1, 2, 3, 4, 5, 6, 7]]), "sequence length 7 exceeds max_position_embeddings (6)")
        var i = ElectraInputs(ids: [[1, 2]])
        i.tokenTypeIds = IntTensor(shape: [1, 2], values: [0, 2])
        fails(i, "token_type_ids[0][1] = 2 is not below type_vocab_size (2)")
        i = ElectraInputs(ids: [[1, 2]])
        i.attentionMask = IntTensor(shape: [2, 1], values: [1, 1])
        fails(i, "attention_mask has shape [2, 1] but input_ids has [1, 2]")
        i = ElectraInputs(ids: [[1, 2]])
        i.attentionMask = IntTensor(shape: [1, 2], values: [1, 3])
        fails(i, "attention_mask[0][1] = 3")
        i = ElectraInputs(ids: [[1, 2]])
        i.labels = IntTensor(shape: [1, 2], values: [0, 7])
        fails(i, "labels[1] = 7 is outside 0..<3")
        fails(ElectraInputs(inputIds: IntTensor(shape: [2], values: [1, 2])), "input_ids must have shape [batch, length]")
    }

    @Test func ignoredLabelsAndValidInputsWork() throws {
        var i = ElectraInputs(ids: [[1, 2, 3], [4, 5, 0]])
        i.attentionMask = IntTensor(shape: [2, 3], values: [1, 1, 1, 1, 1, 0])
        i.labels = IntTensor(shape: [2, 3], values: [0, -100, 2, 1, 1, -100])
        let out = try model(i)
        #expect(out.logits!.shape == [2, 3, 3])
        #expect(out.loss!.isFinite && out.loss! > 0)
    }
}
