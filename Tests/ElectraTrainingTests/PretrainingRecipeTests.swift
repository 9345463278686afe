import Electra
import ElectraKernels
import Foundation
import Testing

@testable import ElectraTraining

/// The recipe that takes the CPU presets off the unigram plateau (docs/pretraining.md,
/// "Leaving the unigram plateau"): sequence length warmup, generator warmup, the
/// discriminator's start from the generator, its learning-rate ramp, the temperature warmup,
/// warmups scaled to short runs, and time budgets sized with the cheaper generator-only steps.
struct PretrainingRecipeTests {
    let pt = PretrainingTests()
    let special = SpecialIds(cls: 2, sep: 3, mask: 4, pad: 0, vocabSize: 30)

    /// During the warmup an example is cut into consecutive pieces, each a row from position 0
    /// with its own segment ids; the piece length doubles from `start` over the warmup.
    @Test func sequenceLengthWarmupCutsExamplesIntoPieces() {
        let ids: [Int32] = [2, 10, 11, 12, 13, 3, 14, 15, 16, 17, 18, 19, 3]  // 13 tokens, second segment from 6
        let data = PretrainingData(examples: [PackedExample(ids: ids, firstSegmentEnd: 6)], maxSeqLength: 16, vocabSize: 30)
        var rng = Xoshiro256(seed: 1)
        let mb = data.maskedBatch([0], options: MaskingOptions(), special: special, rng: &rng, window: 4)
        // Pieces 0..<4, 4..<8, 8..<12; the last piece (one token) is dropped.
        #expect(mb.batch == 3 && mb.length == 4)
        #expect(mb.original == [2, 10, 11, 12, 13, 3, 14, 15, 16, 17, 18, 19])
        #expect(mb.typeIds == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        #expect(mb.attentionMask.allSatisfy { $0 == 1 })
        // Whole examples without a window.
        var rng2 = Xoshiro256(seed: 1)
        let whole = data.maskedBatch([0], options: MaskingOptions(), special: special, rng: &rng2)
        #expect(whole.batch == 1 && whole.length == 13)

        let w = SequenceLengthWarmup(steps: 8, start: 16)
        #expect((0..<9).map { w.window(atStep: $0, maxLength: 128) } == [16, 16, 16, 32, 32, 32, 64, 64, nil])
        #expect(SequenceLengthWarmup(steps: 8, start: 16).window(atStep: 0, maxLength: 16) == nil)
    }

    /// Warmups shrink in proportion for runs shorter than 4 x the longest one, not otherwise,
    /// and never when the user set them.
    @Test func warmupsScaleToShortRuns() throws {
        let r = try PretrainingPreset.named("mini").recipe
        #expect(r.warmups.sequenceLength == 900 && r.warmups.generator == 900 && r.warmups.discriminatorRamp == 300
            && r.warmups.temperature == 1500)
        let half = r.warmups(totalSteps: 1800)
        #expect(half.sequenceLength == 450 && half.generator == 450 && half.discriminatorRamp == 150 && half.temperature == 750)
        #expect(r.warmups(totalSteps: 3600) == r.warmups && r.warmups(totalSteps: 50_000) == r.warmups)
        var fixed = r
        fixed.scalesWarmups = false
        #expect(fixed.warmups(totalSteps: 100) == r.warmups)
        for name in PretrainingPreset.names { try PretrainingPreset.named(name).recipe.validate() }
    }

    /// A run with a generator warmup, the discriminator started from the generator, a ramp and
    /// a temperature warmup; steps 0..<3 are the generator's alone.
    func warmupTask() throws -> ReplacedTokenDetectionTask {
        var shape = ElectraConfig()
        shape.vocabSize = 30; shape.embeddingSize = 12; shape.hiddenSize = 16; shape.numHiddenLayers = 2; shape.numAttentionHeads = 2
        shape.intermediateSize = 24; shape.maxPositionEmbeddings = 64
        var r = PretrainingRecipe(generatorSize: 1, temperature: 1)
        r.dropout = 0
        r.startTemperature = 3
        r.discriminatorFromGenerator = true
        r.warmups.generator = 3
        r.warmups.discriminatorRamp = 2
        r.warmups.temperature = 4
        r.scalesWarmups = false
        let task = try r.makeTask(objective: .rtd, discriminator: shape, data: pt.syntheticData(count: 24, length: 16), special: special, seed: 3)
        return try #require(task as? ReplacedTokenDetectionTask)
    }

    /// Generator-only steps leave every weight of the discriminator's own untouched (no
    /// forward, no gradient, no decay), while the generator and the shared embeddings learn.
    @Test func generatorWarmupLeavesTheDiscriminatorUntouched() throws {
        let task = try warmupTask()
        let shared = Set(task.generator.parameters.uniqueParameters.map { ObjectIdentifier($0.parameter) })
        let own = task.discriminator.parameters.uniqueParameters.filter { !shared.contains(ObjectIdentifier($0.parameter)) }
        let before = own.map { $0.parameter.value.scalars }
        let genBefore = task.generator.parameters["electra.encoder.layer.0.attention.self.query.weight"]!.value.scalars
        var o = TrainerOptions()
        o.batchSize = 4; o.maxSteps = 3; o.saveSteps = 100; o.layerwiseDecay = 1; o.logSteps = 1; o.weightDecay = 0.01
        let out = pt.ft.tempDir()
        let t = try Trainer(task: task, options: o, output: out)
        t.quiet = true
        try t.run(resume: false)
        #expect(!own.isEmpty)
        let changed = own.indices.filter { own[$0].parameter.value.scalars != before[$0] }.map { own[$0].name }
        #expect(changed.isEmpty, "changed during the generator warmup: \(changed)")
        #expect(task.generator.parameters["electra.encoder.layer.0.attention.self.query.weight"]!.value.scalars != genBefore)
        let log = MetricsLog.read(out.appendingPathComponent("metrics.jsonl")).filter { $0["kind"]?.stringValue == "train" }
        #expect(log.count == 3 && log.allSatisfy { $0["discriminator_loss"] == nil && $0["generator_masked_loss"] != nil })
        // Trained without dropout, saved with the shape's (HF's 0.1) for fine-tuning.
        #expect(task.discriminator.config.hiddenDropoutProb == 0)
        for folder in ["discriminator", "generator"] {
            let c = try ElectraConfig.load(from: out.appendingPathComponent("\(folder)/config.json"))
            #expect(c.hiddenDropoutProb == 0.1 && c.attentionProbsDropoutProb == 0.1, "\(folder)")
        }
    }

    /// At the joining step the discriminator's encoder becomes a copy of the generator's (its
    /// head does not); its own weights then ramp their rate up; sampling cools from 3 to 1.
    @Test func discriminatorJoinsFromTheGeneratorWithRampAndCooling() throws {
        let task = try warmupTask()
        task.didSizeRun(totalSteps: 20)
        let q = "electra.encoder.layer.1.attention.self.query.weight"
        #expect(task.discriminator.parameters[q]!.value.scalars != task.generator.parameters[q]!.value.scalars)
        task.willStartStep(2)
        #expect(task.discriminator.parameters[q]!.value.scalars != task.generator.parameters[q]!.value.scalars)
        task.willStartStep(3)
        let encoder = task.discriminator.parameters.uniqueParameters.filter { $0.name.hasPrefix("electra.encoder.") }
        #expect(!encoder.isEmpty)
        let differing = encoder.filter { $0.parameter.value.scalars != task.generator.parameters[$0.name]!.value.scalars }.map(\.name)
        #expect(differing.isEmpty, "not copied: \(differing)")
        #expect(encoder.allSatisfy { $0.parameter !== task.generator.parameters[$0.name]! }, "copied, not shared")
        let head = "discriminator_predictions.dense.weight"
        #expect(task.discriminator.parameters[head] != nil)

        // The discriminator's own weights (not the shared embeddings): rate 0 while the generator
        // trains alone, then 1/3, 2/3, then 1.
        #expect(task.learningRateScales(atStep: 2)[ObjectIdentifier(task.discriminator.parameters[head]!)] == 0)
        let s3 = task.learningRateScales(atStep: 3), s4 = task.learningRateScales(atStep: 4)
        let word = ObjectIdentifier(task.discriminator.parameters["electra.embeddings.word_embeddings.weight"]!)
        let own = ObjectIdentifier(task.discriminator.parameters[head]!)
        #expect(s3[own] == Float(1) / 3 && s4[own] == Float(2) / 3 && s3[word] == nil)
        #expect(task.learningRateScales(atStep: 5).isEmpty)

        // Temperature: 3 until the discriminator joins, then linearly to 1 over 4 steps.
        #expect([0, 3, 4, 5, 7, 100].map { task.samplingTemperature(atStep: $0) } == [3, 3, 2.5, 2, 1, 1])
    }

    /// A time budget measured on generator-only steps buys fewer of the dearer full steps: the
    /// sized run's cost, in measured seconds, is the budget.
    @Test func timeBudgetCountsTheCheaperGeneratorSteps() throws {
        let task = try warmupTask()
        var r = task.recipe
        r.warmups.generator = 100
        task.recipe = r
        let cheap = task.relativeStepCost(atStep: 0)
        #expect(cheap > 0.2 && cheap < 0.8 && task.relativeStepCost(atStep: 100) == 1)
        var o = TrainerOptions()
        o.batchSize = 4; o.maxTime = 1000; o.saveSteps = 1000; o.layerwiseDecay = 1
        let t = try Trainer(task: task, options: o, output: pt.ft.tempDir())
        let perStep = 0.5  // seconds per generator-only step
        let n = t.stepsFitting(seconds: 300, from: 6, perStep: perStep, measured: 1..<6)
        let cost = (6..<n).reduce(0.0) { $0 + task.relativeStepCost(atStep: $1) } * perStep / cheap
        #expect(abs(cost - 300) <= perStep / cheap)
        // Full-cost steps only: 300 s at 0.5 / cheap s per step.
        #expect(n - 6 < Int(300 / perStep))

        // Short pieces of the sequence length warmup cost less than whole examples.
        var w = task.recipe
        w.warmups.sequenceLength = 8
        w.sequenceLengthStart = 4  // pieces of 4 and 8 tokens of the 16-token examples
        task.recipe = w
        #expect(task.relativeStepCost(atStep: 0) < cheap && task.relativeStepCost(atStep: 100) == 1)
        let mlm = try #require(try w.makeTask(objective: .mlm, discriminator: task.discriminator.config,
                                              data: pt.syntheticData(count: 24, length: 16), special: special, seed: 3)
                                as? MaskedLMPretrainingTask)
        mlm.didSizeRun(totalSteps: 1000)
        #expect(mlm.relativeStepCost(atStep: 0) < 1 && mlm.relativeStepCost(atStep: 8) == 1)
    }

    /// --projection-init-std rescales embeddings_project's drawn weights (E != H) in every model
    /// of either objective, to that std; without it they keep HF's initializer_range.
    @Test func projectionInitStdSetsEmbeddingsProjectsScale() throws {
        var shape = ElectraConfig()
        shape.vocabSize = 30; shape.embeddingSize = 32; shape.hiddenSize = 64; shape.numHiddenLayers = 1; shape.numAttentionHeads = 2
        shape.intermediateSize = 24; shape.maxPositionEmbeddings = 64
        func std(_ t: ParameterTable) throws -> Double {
            let w = try #require(t["electra.embeddings_project.weight"]).value.scalars.map(Double.init)
            return (w.map { $0 * $0 }.reduce(0, +) / Double(w.count)).squareRoot()
        }
        var r = PretrainingRecipe(generatorSize: 1, temperature: 1)  // the generator has a projection too
        let data = pt.syntheticData(count: 8, length: 16)
        let plain = try #require(try r.makeTask(objective: .rtd, discriminator: shape, data: data, special: special, seed: 3) as? ReplacedTokenDetectionTask)
        #expect(abs(try std(plain.discriminator.parameters) - 0.02) < 0.002)
        r.projectionInitStd = 0.125
        let rtd = try #require(try r.makeTask(objective: .rtd, discriminator: shape, data: data, special: special, seed: 3) as? ReplacedTokenDetectionTask)
        #expect(abs(try std(rtd.discriminator.parameters) - 0.125) < 0.0125)
        #expect(abs(try std(rtd.generator.parameters) - 0.125) < 0.0125)
        let mlm = try #require(try r.makeTask(objective: .mlm, discriminator: shape, data: data, special: special, seed: 3) as? MaskedLMPretrainingTask)
        #expect(abs(try std(mlm.model.parameters) - 0.125) < 0.0125)
        r.projectionInitStd = -1
        #expect(throws: ElectraError.self) { try r.validate() }
    }
}
