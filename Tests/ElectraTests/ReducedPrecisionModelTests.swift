import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// A model set to int8 inference (dynamic quantization of the encoder's linear layers) or bf16
/// inference (the same layers with bf16 operands, fp32 accumulation).
struct ReducedPrecisionModelTests {
    /// Every parity fixture within a share of its output's largest magnitude.
    /// - int8, 3%: each quantized product rounds both operands to 8 bits (relative steps of
    ///   1/254 of the row's and the channel's largest value), each layer has four such products
    ///   in sequence, and these fixtures' random weights are wider than trained ones. Measured
    ///   worst: 2.6% (multiple choice, whose logits are small).
    /// - bf16, 2.5%: each operand carries a relative rounding error of at most 2^-9 (8
    ///   significant bits), about 0.1% on average, which random-walks through the sums and
    ///   compounds through the layers. Measured worst: 1.7% (multiple choice, mean pooling),
    ///   the rest 0.2-0.6%.
    @Test(arguments: ParityTests.fixtureCases, [InferenceDType.int8, .bf16])
    func parityFixturesStayClose(_ name: String, _ dtype: InferenceDType) throws {
        let dir = Fixtures.models.appendingPathComponent(name)
        let modelDir = dir.appendingPathComponent("model")
        let config = try ElectraConfig.load(from: modelDir.appendingPathComponent("config.json"))
        let (model, _) = try ElectraTask.fromConfig(config).load(from: modelDir)
        let inputs = try ElectraInputs.read(from: dir.appendingPathComponent("inputs.safetensors"))
        let expected = try SafeTensorsFile(url: dir.appendingPathComponent("expected.safetensors"))
        model.setInferenceDType(dtype)
        let out = Dictionary(uniqueKeysWithValues: try model(inputs).namedTensors)
        #expect((dtype == .int8 ? model.backbone.int8WeightBytes : model.backbone.bf16WeightBytes) > 0)
        let tolerance: Float = dtype == .int8 ? 0.03 : 0.025
        var worst: Float = 0
        for (key, got) in out where key != "loss" {
            let want = try expected.floatTensor(key)
            let scale = want.scalars.map(abs).max()!
            let d = maxAbsDiff(got, want) / scale
            worst = max(worst, d)
            #expect(d <= tolerance, "\(name) \(key): \(dtype) off by \(d) of the largest output")
            #expect(d > 0, "\(name) \(key): identical to fp32, so \(dtype) did not run")
        }
        print("\(dtype) \(name): worst \(worst) of the largest output")
        model.setInferenceDType(.fp32)
        #expect(model.backbone.int8WeightBytes == 0 && model.backbone.bf16WeightBytes == 0)
        for (key, got) in try model(inputs).namedTensors where key != "loss" {
            #expect(maxAbsDiff(got, try expected.floatTensor(key)) <= ParityTests.tolerance, "\(name) \(key) back in fp32")
        }
    }

    /// The int8 and bf16 copies follow weight changes (versions); training refuses an int8
    /// model (a bf16 one trains in mixed precision, below).
    @Test(arguments: [InferenceDType.int8, .bf16])
    func copiesFollowTheWeightsAndTrainingNeedsFP32(_ dtype: InferenceDType) throws {
        var c = ElectraConfig()
        c.vocabSize = 30; c.embeddingSize = 16; c.hiddenSize = 16; c.numHiddenLayers = 1; c.numAttentionHeads = 2
        c.intermediateSize = 32; c.maxPositionEmbeddings = 16; c.setNumLabels(2)
        let model = try ElectraForSequenceClassification(config: c, seed: 1)
        var inputs = ElectraInputs(ids: [[1, 5, 9, 2]])
        inputs.labels = IntTensor(shape: [1], values: [1])
        model.setInferenceDType(dtype)
        let before = try model(inputs).logits!.scalars
        let w = model.backbone.layers[0].intermediate.weight
        for i in 0..<w.value.count { w.pointer[i] *= -1 }
        w.markChanged()
        let after = try model(inputs).logits!.scalars
        #expect(before != after, "the \(dtype) copy was not rebuilt after the weights changed")
        if dtype == .int8 {
            #expect { try model.forwardBackward(inputs) } throws: { "\($0)".contains("training needs fp32 or bf16") }
        }
        model.setInferenceDType(.fp32)
        model.parameters.zeroGradients()
        _ = try model.forwardBackward(inputs)
    }

    /// Mixed precision: with the model set to bf16, forward and backward products run in bf16
    /// (fp32 accumulation) and the gradients land in the fp32 master weights' gradients, within
    /// 3% of the fp32 gradients (each product's operands rounded to 8 significant bits, through
    /// two layers forward and back; measured worst 0.7%). Every weight gets a gradient, the
    /// loss moves by less than 1%, and the fp32 weights themselves are untouched by the dtype.
    @Test func bf16TrainingGradientsTrackFP32() throws {
        var c = ElectraConfig()
        c.vocabSize = 50; c.embeddingSize = 32; c.hiddenSize = 64; c.numHiddenLayers = 2; c.numAttentionHeads = 4
        c.intermediateSize = 128; c.maxPositionEmbeddings = 32; c.setNumLabels(3)
        let model = try ElectraForSequenceClassification(config: c, seed: 7)
        var inputs = ElectraInputs(ids: [[1, 5, 9, 2, 7, 11, 3, 0], [1, 8, 4, 6, 2, 0, 0, 0]])
        inputs.attentionMask = IntTensor(shape: [2, 8], values: [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0])
        inputs.labels = IntTensor(shape: [2], values: [2, 0])
        func gradients() throws -> (Float, [String: [Float]]) {
            model.parameters.zeroGradients()
            let loss = try model.forwardBackward(inputs).loss!
            return (loss, Dictionary(uniqueKeysWithValues: model.parameters.uniqueParameters.map { ($0.name, Array($0.parameter.grad!.scalars)) }))
        }
        let (loss32, g32) = try gradients()
        let weights = model.parameters.uniqueParameters.map { Array($0.parameter.value.scalars) }
        model.setInferenceDType(.bf16)
        let (loss16, g16) = try gradients()
        #expect(model.backbone.bf16WeightBytes > 0)
        #expect(abs(loss16 - loss32) <= 0.01 * abs(loss32), "loss \(loss16) vs \(loss32)")
        var worst: Float = 0
        let overall = g32.values.map { $0.map(abs).max()! }.max()!
        for (name, want) in g32 {
            let got = g16[name]!, scale = want.map(abs).max()!
            // The key bias's gradient is 0 in exact arithmetic (it adds the same score to
            // every key of a query, which softmax ignores): only rounding noise on both sides.
            guard scale > 1e-4 * overall else { continue }
            let d = zip(got, want).map { abs($0 - $1) }.max()! / scale
            worst = max(worst, d)
            #expect(d <= 0.03, "\(name): bf16 gradient off by \(d) of its largest entry")
        }
        #expect(worst > 0, "bf16 gradients equal fp32's: the bf16 products did not run")
        print("bf16 training: worst gradient difference \(worst) of the largest entry")
        #expect(model.parameters.uniqueParameters.map { Array($0.parameter.value.scalars) } == weights)
    }
}
