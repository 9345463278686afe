import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// A model set to int8 inference (dynamic quantization of the encoder's linear layers).
struct Int8ModelTests {
    /// Every parity fixture within 3% of its output's largest magnitude. Why 3%: each
    /// quantized product rounds both operands to 8 bits (relative steps of 1/254 of the row's
    /// and the channel's largest value), each layer has four such products in sequence, and
    /// these fixtures' random weights are wider than trained ones. Measured worst: 2.6% (multiple choice, whose logits are small).
    @Test(arguments: ParityTests.fixtureCases)
    func parityFixturesStayClose(_ name: String) throws {
        let dir = Fixtures.models.appendingPathComponent(name)
        let modelDir = dir.appendingPathComponent("model")
        let config = try ElectraConfig.load(from: modelDir.appendingPathComponent("config.json"))
        let (model, _) = try ElectraTask.fromConfig(config).load(from: modelDir)
        let inputs = try ElectraInputs.read(from: dir.appendingPathComponent("inputs.safetensors"))
        let expected = try SafeTensorsFile(url: dir.appendingPathComponent("expected.safetensors"))
        model.setInferenceDType(.int8)
        let out = Dictionary(uniqueKeysWithValues: try model(inputs).namedTensors)
        #expect(model.backbone.int8WeightBytes > 0)
        var worst: Float = 0
        for (key, got) in out where key != "loss" {
            let want = try expected.floatTensor(key)
            let scale = want.scalars.map(abs).max()!
            let d = maxAbsDiff(got, want) / scale
            worst = max(worst, d)
            #expect(d <= 0.03, "\(name) \(key): int8 off by \(d) of the largest output")
            #expect(d > 0, "\(name) \(key): identical to fp32, so int8 did not run")
        }
        print("int8 \(name): worst \(worst) of the largest output")
        model.setInferenceDType(.fp32)
        #expect(model.backbone.int8WeightBytes == 0)
        for (key, got) in try model(inputs).namedTensors where key != "loss" {
            #expect(maxAbsDiff(got, try expected.floatTensor(key)) <= ParityTests.tolerance, "\(name) \(key) back in fp32")
        }
    }

    /// The int8 copies follow weight changes (versions), and training refuses a quantized model.
    @Test func copiesFollowTheWeightsAndTrainingNeedsFP32() throws {
        var c = ElectraConfig()
        c.vocabSize = 30; c.embeddingSize = 16; c.hiddenSize = 16; c.numHiddenLayers = 1; c.numAttentionHeads = 2
        c.intermediateSize = 32; c.maxPositionEmbeddings = 16; c.setNumLabels(2)
        let model = try ElectraForSequenceClassification(config: c, seed: 1)
        var inputs = ElectraInputs(ids: [[1, 5, 9, 2]])
        inputs.labels = IntTensor(shape: [1], values: [1])
        model.setInferenceDType(.int8)
        let before = try model(inputs).logits!.scalars
        let w = model.backbone.layers[0].intermediate.weight
        for i in 0..<w.value.count { w.pointer[i] *= -1 }
        w.markChanged()
        let after = try model(inputs).logits!.scalars
        #expect(before != after, "the int8 copy was not rebuilt after the weights changed")
        #expect { try model.forwardBackward(inputs) } throws: { "\($0)".contains("training needs fp32") }
        model.setInferenceDType(.fp32)
        model.parameters.zeroGradients()
        _ = try model.forwardBackward(inputs)
    }
}
