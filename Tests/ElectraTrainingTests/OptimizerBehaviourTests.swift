import Foundation
import Testing
import Electra
@testable import ElectraTraining

@Suite struct LayerwiseAndDecayTests {
    /// google-research/electra `_get_layer_lrs`: depth 0 embeddings, layer i at i + 1, the
    /// task head at n + 2; rate * decay^(n + 2 - depth).
    @Test func layerwiseMultipliersTwelveLayers() {
        let lw = LayerwiseLRDecay(decay: 0.8, numLayers: 12)
        func pw(_ k: Int) -> Float { Float(pow(0.8, Double(k))) }
        let cases: [(String, Int, Float)] = [
            ("electra.embeddings.word_embeddings.weight", 0, pw(14)),
            ("electra.embeddings.LayerNorm.bias", 0, pw(14)),
            ("electra.embeddings_project.weight", 0, pw(14)),
            ("embeddings.position_embeddings.weight", 0, pw(14)),  // ElectraModel's names
            ("electra.encoder.layer.0.attention.self.query.weight", 1, pw(13)),
            ("electra.encoder.layer.1.output.dense.bias", 2, pw(12)),
            ("encoder.layer.5.intermediate.dense.weight", 6, pw(8)),
            ("electra.encoder.layer.10.output.LayerNorm.weight", 11, pw(3)),
            ("electra.encoder.layer.11.output.LayerNorm.weight", 12, pw(2)),
            ("classifier.dense.weight", 14, 1),
            ("classifier.out_proj.bias", 14, 1),
            ("discriminator_predictions.dense_prediction.weight", 14, 1),
            ("qa_outputs.weight", 14, 1),
        ]
        for (name, depth, mult) in cases {
            #expect(lw.depth(of: name) == depth, "\(name)")
            #expect(abs(lw.multiplier(for: name) - mult) <= 1e-7 * mult, "\(name): \(lw.multiplier(for: name)) vs \(mult)")
        }
        // Layer 1 is not confused with layers 10 and 11.
        #expect(lw.depth(of: "electra.encoder.layer.1.x") != lw.depth(of: "electra.encoder.layer.11.x"))
        #expect(LayerwiseLRDecay(decay: 1, numLayers: 12).multiplier(for: "electra.embeddings.x") == 1)
    }

    @Test func optimizerExposesMultipliersByFirstName() {
        let table = ParameterTable()
        let emb = Parameter(Tensor(zeros: [4, 2]), role: .embedding)
        table.register("electra.embeddings.word_embeddings.weight", emb)
        table.register("generator_lm_head.weight", emb, tied: true)
        table.register("electra.encoder.layer.0.output.dense.weight", Parameter(Tensor(zeros: [2, 2]), role: .linearWeight))
        let lw = LayerwiseLRDecay(decay: 0.5, numLayers: 1)
        let opt = AdamW(parameters: table.entries, learningRateMultiplier: lw.multiplier(for:))
        #expect(opt.parameters.count == 2)
        #expect(opt.learningRateMultipliers == [
            "electra.embeddings.word_embeddings.weight": 0.125,
            "electra.encoder.layer.0.output.dense.weight": 0.25,
        ])
    }

    @Test func decayPolicies() {
        let fx = OptimizerFixture.shared
        for p in fx.meta.params {
            let param = Parameter(Tensor(zeros: p.shape), role: OptimizerFixture.role(p.role))
            let expected = p.role == "embedding" || p.role == "linearWeight"
            #expect(WeightDecayPolicy.byRole.decays(name: p.name, parameter: param) == expected, "\(p.name)")
            #expect(WeightDecayPolicy.byName.decays(name: p.name, parameter: param) == expected, "\(p.name)")
            #expect(WeightDecayPolicy.all.decays(name: p.name, parameter: param))
        }
        #expect(!WeightDecayPolicy.nameDecays("generator_predictions.LayerNorm.weight"))
        #expect(!WeightDecayPolicy.nameDecays("generator_lm_head.bias"))
        #expect(WeightDecayPolicy.nameDecays("electra.encoder.layer.0.attention.self.key.weight"))
    }

    /// Weight decay really is skipped for non-decaying parameters: zero gradient, so only
    /// decay can move a parameter.
    @Test func zeroGradientMovesOnlyDecayingParameters() {
        for make in [
            { (ps: [(name: String, parameter: Parameter)]) -> AdamOptimizer in AdamW(parameters: ps, weightDecay: 0.1) },
            { (ps: [(name: String, parameter: Parameter)]) -> AdamOptimizer in ElectraAdamWeightDecay(parameters: ps, weightDecay: 0.1) },
        ] {
            let w = Parameter(Tensor(shape: [3], values: [1, -2, 3]), role: .linearWeight)
            let b = Parameter(Tensor(shape: [3], values: [1, -2, 3]), role: .bias)
            let ln = Parameter(Tensor(shape: [3], values: [1, -2, 3]), role: .layerNormWeight)
            let opt = make([("w", w), ("b", b), ("ln", ln)])
            for p in [w, b, ln] { p.grad = Tensor(zeros: p.shape) }
            opt.step(learningRate: 0.5)
            #expect(w.value.scalars.elementsEqual([0.95, -1.9, 2.85]) { abs($0 - $1) < 1e-6 }, "\(w.value.scalars)")
            #expect(b.value.scalars == [1, -2, 3])
            #expect(ln.value.scalars == [1, -2, 3])
        }
    }
}

@Suite struct GradientUtilityTests {
    @Test func tiedParameterCountsOnceInClipping() {
        let table = ParameterTable()
        let emb = Parameter(Tensor(zeros: [2, 2]), role: .embedding)
        let bias = Parameter(Tensor(zeros: [1]), role: .bias)
        table.register("electra.embeddings.word_embeddings.weight", emb)
        table.register("generator_lm_head.weight", emb, tied: true)
        table.register("generator_lm_head.bias", bias)
        table.zeroGradients()
        #expect(emb.grad != nil && bias.grad != nil)
        emb.grad = Tensor(shape: [2, 2], values: [3, 0, 0, 0])
        bias.grad = Tensor(shape: [1], values: [4])
        // Counted once: sqrt(9 + 16) = 5 (twice would be sqrt(34)).
        #expect(Gradients.globalNorm(table) == 5)
        #expect(Gradients.globalNorm([emb, emb, bias]) == 5)
        let norm = Gradients.clipGlobalNorm(table, maxNorm: 1)
        #expect(norm == 5)
        let c = Float(1) / (5 + 1e-6)
        #expect(abs(emb.grad!.scalars[0] - 3 * c) < 1e-7)  // scaled once, not twice
        #expect(abs(bias.grad!.scalars[0] - 4 * c) < 1e-7)
        // Below the threshold: untouched.
        let n2 = Gradients.clipGlobalNorm(table, maxNorm: 10)
        #expect(abs(n2 - 1) < 1e-5)
        #expect(abs(emb.grad!.scalars[0] - 3 * c) < 1e-7)
        table.zeroGradients()
        #expect(emb.grad!.scalars == [0, 0, 0, 0] && bias.grad!.scalars == [0])
    }

    @Test func gradientAccumulationAveragesMicroBatches() {
        let p = Parameter(Tensor(zeros: [5]), role: .linearWeight)
        p.grad = Tensor(zeros: p.shape)
        var acc = GradientAccumulator(steps: 3)
        let micro: [[Float]] = [[1, 2, 3, 4, 5], [2, 2, 2, 2, 2], [0, 1, 0, 1, 6]]
        var due: [Bool] = []
        for g in micro {
            for i in 0..<5 { p.grad!.pointer[i] += g[i] }  // backward adds
            due.append(acc.microBatchDone([p]))
        }
        #expect(due == [false, false, true])
        let expected: [Float] = [3, 5, 5, 7, 13].map { (x: Float) -> Float in x / 3 }
        let got = p.grad!.scalars
        #expect(zip(got, expected).allSatisfy { (a: Float, b: Float) -> Bool in abs(a - b) < 1e-6 }, "\(got)")
        #expect(acc.pending == 0)
        // A partial group at the end: the mean over what is pending.
        p.grad!.fill(0)
        for i in 0..<5 { p.grad!.pointer[i] += 4 }
        let dueAfterOne = acc.microBatchDone([p])
        #expect(!dueAfterOne)
        let flushed = acc.flush([p])
        #expect(flushed)
        #expect(p.grad!.scalars == [4, 4, 4, 4, 4])
        let flushedAgain = acc.flush([p])
        #expect(!flushedAgain)
        #expect(acc.lossScale == Float(1) / 3)
    }

    /// Large, oddly sized tensors exercise the SIMD tails and the parallel chunk borders
    /// (1 to 3 chunks); compared with a plain scalar loop in Double.
    @Test func vectorizedUpdateMatchesScalarLoop() {
        let sizes = [70_001, 3, 131_075, 9, 64_000]
        let steps = 2, lr = 1e-2
        var rng = Xoshiro256(seed: 7)
        let start: [[Float]] = sizes.map { n in (0..<n).map { _ in rng.nextNormal() } }
        let grads: [[[Float]]] = (0..<steps).map { _ in sizes.map { n in (0..<n).map { _ in 0.1 * rng.nextNormal() } } }
        for electra in [false, true] {
            // The reference, once per rule.
            var ref: [[Double]] = []
            for (k, s0) in start.enumerated() {
                var p = s0.map(Double.init)
                var m = [Double](repeating: 0, count: p.count), v = m
                let decays = k % 2 == 0
                for t in 1...steps {
                    grads[t - 1][k].withUnsafeBufferPointer { g in
                        for i in 0..<p.count {
                            let gi = Double(g[i])
                            m[i] = 0.9 * m[i] + 0.1 * gi
                            v[i] = 0.999 * v[i] + 0.001 * gi * gi
                            if electra {
                                var u = m[i] / (v[i].squareRoot() + 1e-6)
                                if decays { u += 0.01 * p[i] }
                                p[i] -= lr * u
                            } else {
                                if decays { p[i] *= 1 - lr * 0.01 }
                                let mh = m[i] / (1 - pow(0.9, Double(t)))
                                let vh = v[i] / (1 - pow(0.999, Double(t)))
                                p[i] -= lr * mh / (vh.squareRoot() + 1e-8)
                            }
                        }
                    }
                }
                ref.append(p)
            }
            for threads in [1, 2, 3] { Parallel.withThreads(threads) {
                let params: [(name: String, parameter: Parameter)] = start.enumerated().map { k, s0 in
                    ("p\(k)", Parameter(Tensor(shape: [s0.count], values: s0), role: k % 2 == 0 ? .linearWeight : .bias))
                }
                let opt: AdamOptimizer = electra
                    ? ElectraAdamWeightDecay(parameters: params, weightDecay: 0.01)
                    : AdamW(parameters: params, weightDecay: 0.01)
                for t in 0..<steps {
                    for (k, e) in params.enumerated() { e.parameter.grad = Tensor(shape: [sizes[k]], values: grads[t][k]) }
                    opt.step(learningRate: Float(lr))
                }
                var worst = 0.0
                for (k, e) in params.enumerated() {
                    let got = e.parameter.value.buffer
                    for i in 0..<got.count { worst = max(worst, abs(Double(got[i]) - ref[k][i])) }
                }
                #expect(worst < 2e-5, "threads \(threads) electra \(electra): worst \(worst)")
            } }
        }
    }

    @Test func parametersWithoutGradientsAreSkipped() {
        let a = Parameter(Tensor(shape: [2], values: [1, 2]), role: .linearWeight)
        let b = Parameter(Tensor(shape: [2], values: [3, 4]), role: .linearWeight)
        a.grad = Tensor(shape: [2], values: [1, 1])
        let opt = AdamW(parameters: [("a", a), ("b", b)])
        opt.step(learningRate: 0.1)
        #expect(a.value.scalars != [1, 2])
        #expect(b.value.scalars == [3, 4])
        #expect(opt.parameters[1].expAvg.scalars == [0, 0])
    }
}

@Suite struct OptimizerStateTests {
    let fx = OptimizerFixture.shared

    func makeOptimizer(_ electra: Bool, _ table: ParameterTable) -> AdamOptimizer {
        electra
            ? ElectraAdamWeightDecay(parameters: table.uniqueParameters, weightDecay: 0.05,
                                     learningRateMultiplier: LayerwiseLRDecay(decay: 0.8, numLayers: 2).multiplier(for:))
            : AdamW(parameters: table.uniqueParameters, weightDecay: 0.05)
    }

    /// Save after 2 steps, continue to 5; a fresh optimizer restored from the file and fed
    /// the same steps ends bit-identical.
    @Test(arguments: [false, true])
    func saveRestoreResumesIdentically(electra: Bool) throws {
        let schedule = LRSchedule.linear(peak: 1e-2, warmupSteps: 1, totalSteps: 8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("opt-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("optimizer.safetensors")

        let table = try fx.makeTable()
        let opt = makeOptimizer(electra, table)
        func run(_ o: AdamOptimizer, _ t: ParameterTable, steps: Range<Int>) throws {
            for s in steps {
                try fx.setGrads(t, step: s)
                Gradients.clipGlobalNorm(t, maxNorm: 1)
                o.step(learningRate: schedule.learningRate(at: o.stepCount))
            }
        }
        try run(opt, table, steps: 0..<2)
        try opt.saveState(to: url)
        let snapshot = table.entries.map { ($0.name, $0.parameter.value.copy()) }
        try run(opt, table, steps: 2..<5)

        let resumedTable = ParameterTable()
        for (name, value) in snapshot {
            resumedTable.register(name, Parameter(value, role: table[name]!.role))
        }
        let resumed = makeOptimizer(electra, resumedTable)
        try resumed.restoreState(from: url)
        #expect(resumed.stepCount == 2)
        try run(resumed, resumedTable, steps: 2..<5)
        #expect(resumed.stepCount == opt.stepCount)
        for e in table.entries {
            #expect(resumedTable[e.name]!.value.scalars == e.parameter.value.scalars, "\(e.name)")
        }
        // Without the state the run diverges (the test can fail).
        let freshTable = ParameterTable()
        for (name, value) in snapshot { freshTable.register(name, Parameter(value.copy(), role: table[name]!.role)) }
        let fresh = makeOptimizer(electra, freshTable)
        try run(fresh, freshTable, steps: 2..<5)
        #expect(table.entries.contains { freshTable[$0.name]!.value.scalars != $0.parameter.value.scalars })

        // The file's layout.
        let file = try SafeTensorsFile(url: url)
        #expect(file.metadata["optimizer"] == opt.kind)
        #expect(try file.intTensor("step").values == [2])
        #expect(file.names.count == 2 * fx.meta.params.count + 1)
        #expect(file.records["exp_avg.classifier.out_proj.bias"]?.shape == [3])
        #expect(file.records["exp_avg_sq.electra.embeddings.word_embeddings.weight"]?.shape == [30, 12])
    }

    @Test func stateNamesTiedParameterOnce() {
        let table = ParameterTable()
        let emb = Parameter(Tensor(zeros: [4, 2]), role: .embedding)
        table.register("electra.embeddings.word_embeddings.weight", emb)
        table.register("generator_lm_head.weight", emb, tied: true)
        let state = AdamW(parameters: table.entries).state()
        #expect(Set(state.tensors.keys) == ["exp_avg.electra.embeddings.word_embeddings.weight",
                                            "exp_avg_sq.electra.embeddings.word_embeddings.weight"])
    }

    @Test func restoreRejectsMissingMismatchedAndForeignState() throws {
        let table = try fx.makeTable()
        let opt = AdamW(parameters: table.uniqueParameters)
        try fx.setGrads(table, step: 0)
        opt.step(learningRate: 1e-3)
        let good = opt.state()
        let name = "electra.encoder.layer.1.intermediate.dense.weight"

        func message(_ s: OptimizerState, _ target: Optimizer = AdamW(parameters: OptimizerFixture.shared.meta.params.map {
            ($0.name, Parameter(Tensor(zeros: $0.shape), role: OptimizerFixture.role($0.role)))
        })) -> String? {
            do {
                try target.restore(s)
                return nil
            } catch {
                #expect(target.stepCount == 0, "a failed restore must change nothing")
                #expect(target.parameters.allSatisfy { !$0.expAvg.scalars.contains { $0 != 0 } })
                return "\(error)"
            }
        }

        var missing = good
        missing.tensors["exp_avg_sq.\(name)"] = nil
        let m1 = message(missing)
        #expect(m1?.contains("no tensor 'exp_avg_sq.\(name)'") == true, "\(m1 ?? "no error")")

        var wrongShape = good
        wrongShape.tensors["exp_avg.\(name)"] = Tensor(zeros: [12, 21])
        let m2 = message(wrongShape)
        #expect(m2?.contains("'exp_avg.\(name)' has shape [12, 21]") == true && m2?.contains("[21, 12]") == true, "\(m2 ?? "no error")")

        var extra = good
        extra.tensors["exp_avg.electra.encoder.layer.7.output.dense.weight"] = Tensor(zeros: [2])
        let m3 = message(extra)
        #expect(m3?.contains("for no parameter of this model") == true && m3?.contains("layer.7") == true, "\(m3 ?? "no error")")

        let m4 = message(good, ElectraAdamWeightDecay(parameters: table.uniqueParameters))
        #expect(m4?.contains("'adamw'") == true, "\(m4 ?? "no error")")

        #expect(message(good) == nil)

        // A model checkpoint is not an optimizer state file.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("opt-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        try SafeTensorsWriter.write([("w", .float(Tensor(zeros: [2])))], to: url)
        #expect(throws: ElectraError.self) { try opt.restoreState(from: url) }
        do {
            try opt.restoreState(from: url)
        } catch {
            #expect("\(error)".contains("model.safetensors: not an optimizer state file"))
        }
    }
}
