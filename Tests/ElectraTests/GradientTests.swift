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
        let wants = try grads.names.map { ($0, try grads.floatTensor($0)) }
        let global = wants.map { $0.1.scalars.map(abs).max()! }.max()!
        for (key, want) in wants {
            let p = try #require(model.parameters[key], "no parameter \(key)")
            let got = try #require(p.grad, "\(key) has no gradient")
            let peak = want.scalars.map(abs).max()!
            if peak < 1e-5 * global {
                // Mathematically zero (a key bias, or any bias that shifts every logit of a
                // softmax alike); both sides hold rounding noise: it must stay noise.
                #expect(got.scalars.map(abs).max()! <= 1e-5 * global, "\(name) \(key): should be ~0, got \(got.scalars.map(abs).max()!)")
                continue
            }
            // Relative to this tensor's own largest gradient: small tensors (the
            // relative-position tables) are held to the same accuracy as large ones.
            let d = maxAbsDiff(got, want) / peak
            if d > worst.1 { worst = (key, d) }
            #expect(d <= 1e-5, "\(name) \(key): relative max diff \(d)")
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
        let analytic = model.parameters.uniqueParameters.map { ($0.name, $0.parameter, $0.parameter.grad!.copy()) }
        let nonzero = try checkFiniteDifferences(analytic, rng: &rng) { try model(inputs).loss! }
        // Every tensor the loss depends on was checked where its gradient is largest; the
        // unused ones (absolute positions under relative attention, unused token types) are 0.
        #expect(nonzero >= analytic.count - 2, "only \(nonzero) of \(analytic.count) tensors have a gradient")
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
        let nonzero = try checkFiniteDifferences(analytic, rng: &rng) {
            try model.forwardBackward(inputs, dropout: DropoutContext(seed: 9)).loss!
        }
        #expect(nonzero >= analytic.count - 2, "only \(nonzero) of \(analytic.count) tensors have a gradient")
    }

    /// Central differences (h = 1e-2, fp32) of `loss` against the analytic gradients. In each
    /// tensor with a gradient: the entry where it is largest (well above fp32 noise) and a
    /// random entry among those at least a tenth of it; in a tensor without one (all below
    /// 1e-6), a random entry must have no numeric gradient either. Returns how many tensors
    /// had a gradient.
    func checkFiniteDifferences(
        _ analytic: [(String, Parameter, Tensor)], rng: inout Xoshiro256, _ loss: () throws -> Float
    ) throws -> Int {
        var nonzero = 0
        for (name, p, g) in analytic {
            let grads = g.scalars
            let peak = grads.indices.max { abs(grads[$0]) < abs(grads[$1]) }!
            var entries = [peak]
            // Below 1e-6 a gradient is rounding noise (a key bias: softmax ignores the shift).
            if abs(grads[peak]) > 1e-6 {
                nonzero += 1
                // h = 1e-2 in fp32 resolves about 1e-5: the checked entry must stand well above.
                #expect(abs(grads[peak]) > 1e-3, "\(name): largest gradient \(grads[peak]) is too small to check in fp32")
                let large = grads.indices.filter { abs(grads[$0]) >= 0.1 * abs(grads[peak]) }
                entries.append(large[Int(rng.next() % UInt64(large.count))])
            } else {
                entries = [Int(rng.next() % UInt64(grads.count))]
            }
            for i in entries {
                let saved = p.pointer[i], h: Float = 1e-2
                p.pointer[i] = saved + h
                let up = try loss()
                p.pointer[i] = saved - h
                let down = try loss()
                p.pointer[i] = saved
                let numeric = (up - down) / (2 * h)
                #expect(abs(numeric - grads[i]) <= 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]: numeric \(numeric) analytic \(grads[i])")
            }
        }
        return nonzero
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
