import Foundation
import Testing
import Electra
@testable import ElectraTraining

/// One optimizer run per fixture: clip, read the schedule at `stepCount`, step, and compare
/// every parameter after every step, then the final moments.
@Suite struct OptimizerParityTests {
    let fx = OptimizerFixture.shared

    @Test func adamWMatchesPyTorch() throws {
        let table = try fx.makeTable()
        let m = fx.meta
        let opt = AdamW(parameters: table.uniqueParameters, epsilon: Float(m.adamw.eps),
                        weightDecay: Float(m.weight_decay))
        let schedule = LRSchedule.linear(peak: Float(m.peak), warmupSteps: m.warmup, totalSteps: m.total)
        var cmp = Comparison()
        for t in 0..<m.steps {
            try fx.setGrads(table, step: t)
            let norm = Gradients.clipGlobalNorm(table, maxNorm: 1)
            #expect(relClose(Double(norm), m.adamw.norms[t], rel: 1e-5), "step \(t): norm \(norm) vs \(m.adamw.norms[t])")
            let lr = schedule.learningRate(at: opt.stepCount)
            #expect(relClose(Double(lr), m.adamw.lrs[t]), "step \(t): lr \(lr) vs \(m.adamw.lrs[t])")
            opt.step(learningRate: lr)
            for p in m.params {
                cmp.check(table[p.name]!.value, try fx.tensor("adamw.step\(t).\(p.name)"), "step \(t) \(p.name)")
            }
        }
        #expect(opt.stepCount == m.steps)
        let state = opt.state()
        for p in m.params {
            cmp.checkRelative(state.tensors["exp_avg.\(p.name)"]!, try fx.tensor("adamw.exp_avg.\(p.name)"), "exp_avg \(p.name)")
            cmp.checkRelative(state.tensors["exp_avg_sq.\(p.name)"]!, try fx.tensor("adamw.exp_avg_sq.\(p.name)"), "exp_avg_sq \(p.name)")
        }
        #expect(cmp.failures.isEmpty, "\(cmp.failures.prefix(5))")
        print("AdamW vs PyTorch: worst abs diff \(cmp.worstAbs)")
    }

    @Test func electraOptimizerMatchesReimplementation() throws {
        let table = try fx.makeTable()
        let m = fx.meta
        let layerwise = LayerwiseLRDecay(decay: m.layer_decay, numLayers: m.n_layers)
        let opt = ElectraAdamWeightDecay(parameters: table.uniqueParameters, weightDecay: Float(m.weight_decay),
                                         learningRateMultiplier: layerwise.multiplier(for:))
        #expect(opt.epsilon == 1e-6)
        let schedule = LRSchedule.electra(peak: Float(m.peak), warmupSteps: m.warmup, totalSteps: m.total)
        var cmp = Comparison()
        for t in 0..<m.steps {
            try fx.setGrads(table, step: t)
            let norm = Gradients.clipGlobalNorm(table, maxNorm: 1, epsilon: 0)  // tf.clip_by_global_norm
            #expect(relClose(Double(norm), m.electra.norms[t], rel: 1e-5), "step \(t): norm \(norm) vs \(m.electra.norms[t])")
            let lr = schedule.learningRate(at: opt.stepCount)
            #expect(relClose(Double(lr), m.electra.lrs[t], rel: 1e-6, abs: 1e-12), "step \(t): lr \(lr) vs \(m.electra.lrs[t])")
            opt.step(learningRate: lr)
            for p in m.params {
                cmp.check(table[p.name]!.value, try fx.tensor("electra.step\(t).\(p.name)"), "step \(t) \(p.name)")
            }
        }
        let state = opt.state()
        for p in m.params {
            cmp.checkRelative(state.tensors["exp_avg.\(p.name)"]!, try fx.tensor("electra.exp_avg.\(p.name)"), "adam_m \(p.name)")
            cmp.checkRelative(state.tensors["exp_avg_sq.\(p.name)"]!, try fx.tensor("electra.exp_avg_sq.\(p.name)"), "adam_v \(p.name)")
        }
        #expect(cmp.failures.isEmpty, "\(cmp.failures.prefix(5))")
        print("ELECTRA AdamWeightDecay vs numpy: worst abs diff \(cmp.worstAbs)")
    }

    /// The first ELECTRA update runs at lr 0 (global_step 0 with warmup): parameters stay,
    /// moments fill.
    @Test func electraFirstUpdateOnlyFillsMoments() throws {
        let table = try fx.makeTable()
        let before = table.entries.map { $0.parameter.value.copy() }
        let opt = ElectraAdamWeightDecay(parameters: table.uniqueParameters)
        try fx.setGrads(table, step: 0)
        let schedule = LRSchedule.electra(peak: 1e-2, warmupSteps: 2, totalSteps: 8)
        opt.step(learningRate: schedule.learningRate(at: opt.stepCount))
        for (i, e) in table.entries.enumerated() {
            #expect(e.parameter.value.scalars == before[i].scalars)
        }
        #expect(opt.parameters.allSatisfy { $0.expAvg.scalars.contains { $0 != 0 } })
    }

    @Test func schedulesMatchReference() {
        let s = fx.meta.schedules
        let cases: [(String, LRSchedule, [Double])] = [
            ("constant", .constant(peak: 1), s.constant),
            ("constant_with_warmup_3", .constantWithWarmup(peak: 1, warmupSteps: 3), s.constant_with_warmup_3),
            ("linear_3_10", .linear(peak: 1, warmupSteps: 3, totalSteps: 10), s.linear_3_10),
            ("linear_0_10", .linear(peak: 1, warmupSteps: 0, totalSteps: 10), s.linear_0_10),
            ("electra_3_10_p1", .electra(peak: 1, warmupSteps: 3, totalSteps: 10), s.electra_3_10_p1),
            ("electra_3_10_p2", .electra(peak: 1, warmupSteps: 3, totalSteps: 10, power: 2), s.electra_3_10_p2),
        ]
        for (name, schedule, expected) in cases {
            for (i, step) in s.steps.enumerated() {
                let f = schedule.factor(at: step)
                #expect(relClose(f, expected[i], rel: 1e-12, abs: 1e-12), "\(name) at \(step): \(f) vs \(expected[i])")
                #expect(relClose(Double(schedule.learningRate(at: step)), expected[i], rel: 1e-7, abs: 1e-12))
            }
        }
        // A peak other than 1 scales everything; past the end the linear ones stay at 0.
        #expect(LRSchedule.linear(peak: 5e-4, warmupSteps: 10, totalSteps: 100).learningRate(at: 5) == Float(5e-4 * 0.5))
        #expect(LRSchedule.electra(peak: 5e-4, warmupSteps: 10, totalSteps: 100).learningRate(at: 150) == 0)
        #expect(LRSchedule.electra(peak: 5e-4, warmupSteps: 0, totalSteps: 100).learningRate(at: 0) == 5e-4)
    }
}
