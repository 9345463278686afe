import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// Every parameter gradient of every head against PyTorch's (grads.safetensors, written by
/// scripts/reference/make_gradient_fixtures.py), plus finite differences on a tiny model.
struct GradientTests {
    static var cases: [String] {
        ParityTests.fixtureCases.filter {
            FileManager.default.fileExists(atPath: Fixtures.models.appendingPathComponent("\($0)/grads.safetensors").path)
        }
    }

    @Test func gradientFixturesArePresent() { #expect(Self.cases.count == 10, "\(Self.cases)") }

    @Test(arguments: cases)
    func gradientsMatchPyTorch(_ name: String) throws {
        let dir = Fixtures.models.appendingPathComponent(name)
        let config = try ElectraConfig.load(from: dir.appendingPathComponent("model/config.json"))
        let (any, _) = try ElectraTask.fromConfig(config).load(from: dir.appendingPathComponent("model"))
        let model = try #require(any as? any ElectraTrainable)
        let inputs = try ElectraInputs.read(from: dir.appendingPathComponent("inputs.safetensors"))
        model.parameters.zeroGradients()
        let out = try model.forwardBackward(inputs)
        let expectedLoss = try SafeTensorsFile(url: dir.appendingPathComponent("expected.safetensors")).floatTensor("loss").scalars[0]
        #expect(abs(out.loss! - expectedLoss) < 1e-5)
        let grads = try SafeTensorsFile(url: dir.appendingPathComponent("grads.safetensors"))
        var worst: (String, Float) = ("", 0)
        for key in grads.names {
            let want = try grads.floatTensor(key)
            let p = try #require(model.parameters[key], "no parameter \(key)")
            let got = try #require(p.grad, "\(key) has no gradient")
            let scale = max(1, want.scalars.map(abs).max()!)
            let d = maxAbsDiff(got, want) / scale
            if d > worst.1 { worst = (key, d) }
            #expect(d <= 1e-4, "\(name) \(key): relative max diff \(d)")
        }
        // Parameters torch left without a gradient (e.g. absolute positions under relative
        // attention) must have none here either.
        for (key, p) in model.parameters.uniqueParameters where !grads.names.contains(key) {
            #expect(p.grad!.scalars.allSatisfy { $0 == 0 }, "\(name) \(key) should get no gradient")
        }
        print("gradients \(name): worst relative max-abs-diff \(worst.1) (\(worst.0)) over \(grads.names.count) tensors")
    }

    /// Central differences in fp32 on a tiny relative_key_query model: checks the backward
    /// pass independently of PyTorch.
    @Test func finiteDifferences() throws {
        var c = ElectraConfig()
        c.vocabSize = 20; c.embeddingSize = 6; c.hiddenSize = 8; c.numHiddenLayers = 2; c.numAttentionHeads = 2
        c.intermediateSize = 12; c.maxPositionEmbeddings = 8; c.positionEmbeddingType = .relativeKeyQuery
        c.hiddenAct = .geluNew; c.setNumLabels(3)
        let model = try ElectraForSequenceClassification(config: c, seed: 5)
        var rng = Xoshiro256(seed: 11)
        for (_, p) in model.parameters.uniqueParameters {  // larger weights: gradients well above fp32 noise
            for i in 0..<p.value.count { p.pointer[i] += 0.3 * rng.nextNormal() }
        }
        var inputs = ElectraInputs(ids: [[1, 4, 7, 9, 2], [3, 5, 8, 0, 0]])
        inputs.attentionMask = IntTensor(shape: [2, 5], values: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
        inputs.labels = IntTensor(shape: [2], values: [2, 0])
        model.parameters.zeroGradients()
        _ = try model.forwardBackward(inputs)
        var checked = 0
        for (name, p) in model.parameters.uniqueParameters {
            for _ in 0..<2 {
                let i = Int(rng.next() % UInt64(p.value.count))
                let analytic = p.grad!.pointer[i]
                let saved = p.pointer[i]
                let h: Float = 1e-2
                p.pointer[i] = saved + h
                let up = try model(inputs).loss!
                p.pointer[i] = saved - h
                let down = try model(inputs).loss!
                p.pointer[i] = saved
                let numeric = (up - down) / (2 * h)
                #expect(abs(numeric - analytic) <= 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]: numeric \(numeric) analytic \(analytic)")
                checked += 1
            }
        }
        #expect(checked > 60)
    }

    /// With dropout on, the same seed replays the same masks, so finite differences of the
    /// dropped-out loss must match its analytic gradient; different seeds give different losses.
    @Test func dropoutGradientsMatchFiniteDifferences() throws {
        var c = ElectraConfig()
        c.vocabSize = 20; c.embeddingSize = 6; c.hiddenSize = 8; c.numHiddenLayers = 1; c.numAttentionHeads = 2
        c.intermediateSize = 12; c.maxPositionEmbeddings = 8; c.setNumLabels(4)
        c.hiddenDropoutProb = 0.2; c.attentionProbsDropoutProb = 0.3
        let model = try ElectraForTokenClassification(config: c, seed: 2)
        var rng = Xoshiro256(seed: 4)
        for (_, p) in model.parameters.uniqueParameters {
            for i in 0..<p.value.count { p.pointer[i] += 0.3 * rng.nextNormal() }
        }
        var inputs = ElectraInputs(ids: [[1, 4, 7, 9], [3, 5, 8, 0]])
        inputs.labels = IntTensor(shape: [2, 4], values: [0, 1, 2, 3, 3, 2, 1, -100])
        model.parameters.zeroGradients()
        let base = try model.forwardBackward(inputs, dropout: DropoutContext(seed: 9)).loss!
        let analytic = model.parameters.uniqueParameters.map { ($0.name, $0.parameter, $0.parameter.grad!.copy()) }
        #expect(try model.forwardBackward(inputs, dropout: DropoutContext(seed: 10)).loss! != base)
        #expect(abs(try model.forwardBackward(inputs).loss! - model(inputs).loss!) < 1e-6)
        var checked = 0
        for (name, p, g) in analytic {
            for _ in 0..<2 {
                let i = Int(rng.next() % UInt64(p.value.count))
                let saved = p.pointer[i], h: Float = 1e-2
                p.pointer[i] = saved + h
                let up = try model.forwardBackward(inputs, dropout: DropoutContext(seed: 9)).loss!
                p.pointer[i] = saved - h
                let down = try model.forwardBackward(inputs, dropout: DropoutContext(seed: 9)).loss!
                p.pointer[i] = saved
                let numeric = (up - down) / (2 * h)
                #expect(abs(numeric - g.pointer[i]) <= 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]: numeric \(numeric) analytic \(g.pointer[i])")
                checked += 1
            }
        }
        #expect(checked > 30)
    }

    /// Buffers sized for a big batch are reused for a smaller one (dynamic padding): the
    /// results must equal a fresh model's, for inference and for gradients.
    @Test func reusedBuffersGiveFreshResults() throws {
        let dir = Fixtures.models.appendingPathComponent("qa_relative_key_query")
        let small = try ElectraInputs.read(from: dir.appendingPathComponent("inputs.safetensors"))
        var big = ElectraInputs(ids: (0..<5).map { r in (0..<20).map { (r * 7 + $0 * 3) % 97 } })
        big.startPositions = IntTensor(shape: [5], values: [1, 2, 3, 4, 5])
        big.endPositions = IntTensor(shape: [5], values: [2, 3, 4, 5, 6])
        let used = try ElectraForQuestionAnswering.load(from: dir.appendingPathComponent("model")).model
        let fresh = try ElectraForQuestionAnswering.load(from: dir.appendingPathComponent("model")).model
        used.parameters.zeroGradients()
        _ = try used(big)
        _ = try used.forwardBackward(big, dropout: DropoutContext(seed: 1))
        used.parameters.zeroGradients()
        fresh.parameters.zeroGradients()
        let a = try used.forwardBackward(small), b = try fresh.forwardBackward(small)
        #expect(a.loss == b.loss)
        #expect(try used(small).startLogits!.scalars == fresh(small).startLogits!.scalars)
        for (name, p) in fresh.parameters.uniqueParameters {
            #expect(used.parameters[name]!.grad!.scalars == p.grad!.scalars, "\(name)")
        }
    }
}
