import Electra
import ElectraKernels
import Foundation
import Testing

@testable import ElectraTraining

/// The numbers a pretraining run is judged by: the unigram baseline, masked-LM scores on
/// [MASK]ed positions apart from the copied ones, the plateau warning, held-out evaluation
/// and the reference lines in the log and the plot.
struct PretrainingMetricsTests {
    let pt = PretrainingTests()
    let special = SpecialIds(cls: 2, sep: 3, mask: 4, pad: 0, vocabSize: 30)

    /// Entropy and top-1 share of the candidate tokens, specials left out.
    @Test func unigramBaselineCountsCandidateTokensOnly() {
        // 6 x id 10, 2 x id 11, 2 x id 12, plus [CLS]/[SEP] that must not count.
        let ids: [Int32] = [2, 10, 10, 10, 11, 12, 3, 10, 10, 10, 11, 12, 3]
        let data = PretrainingData(examples: [PackedExample(ids: ids, firstSegmentEnd: 7)], maxSeqLength: 16, vocabSize: 30)
        let b = UnigramBaseline(data: data, special: special)
        let p = [0.6, 0.2, 0.2]
        #expect(abs(b.entropy - p.reduce(0) { $0 - $1 * log($1) }) < 1e-12)
        #expect(b.topId == 10 && abs(b.topShare - 0.6) < 1e-12 && b.tokens == 10)
        // Scored on other targets: -log p per target, top share among them.
        let s = b.score(targets: [10, 11, 29])  // 29 never seen: skipped
        #expect(abs(s.loss - (-log(0.6) - log(0.2)) / 2) < 1e-12 && abs(s.topShare - 0.5) < 1e-12)
    }

    /// Rows whose input is [MASK] are scored apart from the chosen rows left unchanged.
    @Test func maskedScoreSeparatesMaskedFromCopiedPositions() {
        // Three chosen positions of a [1, 4] batch: two [MASK]ed, one kept.
        let mb = MaskedBatch(batch: 1, length: 4, original: [2, 7, 8, 9], masked: [2, 4, 8, 4], typeIds: [0, 0, 0, 0],
                             attentionMask: [1, 1, 1, 1], positions: [1, 2, 3], targets: [7, 8, 9])
        let V = 10
        var logits = [Float](repeating: 0, count: 3 * V)
        logits[0 * V + 7] = 5  // masked row, right
        logits[1 * V + 8] = 5  // kept row, right (a copy)
        logits[2 * V + 1] = 5  // masked row, wrong
        var score = MaskedLMScore()
        score.add(logits: logits, classes: V, batch: mb, maskId: 4)
        let m = score.metrics()
        #expect(m["generator_masked_accuracy"] == 0.5)
        #expect(abs(m["generator_chosen_accuracy"]! - 2.0 / 3) < 1e-12)
        let right = Double(log(exp(Float(5)) + 9) - 5), wrong = Double(log(exp(Float(5)) + 9))
        #expect(abs(m["generator_masked_loss"]! - (right + wrong) / 2) < 1e-5)
        // No [MASK]ed row: no masked numbers rather than zeros.
        var none = MaskedLMScore()
        none.add(logits: logits, classes: V, batch: MaskedBatch(batch: 1, length: 4, original: mb.original, masked: mb.original, typeIds: mb.typeIds,
                                                                attentionMask: mb.attentionMask, positions: mb.positions, targets: mb.targets), maskId: 4)
        // The rows are the same three (two right): chosen accuracy still 2/3.
        #expect(none.metrics()["generator_masked_loss"] == nil && none.metrics()["generator_masked_accuracy"] == nil)
        #expect(abs(none.metrics()["generator_chosen_accuracy"]! - 2.0 / 3) < 1e-12)
    }

    /// The plateau warning: only after its token budget, only while the [MASK]ed loss is within
    /// the margin of the unigram entropy, once.
    @Test func plateauWarningComesOnceWhileNearTheUnigram() {
        var w = PlateauWatch(baseline: UnigramBaseline(entropy: 7.26, topShare: 0.057, topId: 1996, tokens: 1))
        w.tokens = 10_000
        for _ in 0..<9 { #expect(w.observe(["generator_masked_loss": 7.1], stepTokens: 1_000) == nil) }
        let message = w.observe(["generator_masked_loss": 7.1], stepTokens: 1_000)
        #expect(message?.contains("7.10 nats, within 0.3 of the data's unigram entropy (7.26)") == true)
        #expect(w.observe(["generator_masked_loss": 7.1], stepTokens: 1_000) == nil)
        var healthy = PlateauWatch(baseline: UnigramBaseline(entropy: 7.26, topShare: 0.057, topId: 1996, tokens: 1))
        healthy.tokens = 10_000
        for _ in 0..<20 { #expect(healthy.observe(["generator_masked_loss": 6.5], stepTokens: 1_000) == nil) }
    }

    /// A run with held-out data logs the reference record first, the [MASK]ed-position metrics
    /// in training and evaluation records, and draws the unigram lines dashed.
    @Test func rtdRunLogsHonestMetricsAndReferenceLines() throws {
        let (d, g) = try pt.tinyPair()
        let data = pt.syntheticData(count: 24, length: 16)
        let task = ReplacedTokenDetectionTask(generator: g, discriminator: d, data: data, masking: MaskingOptions(), special: special, seed: 1)
        task.heldOut = HeldOutBatches(data: pt.syntheticData(count: 10, length: 16, seed: 8), examples: 8, batchSize: 4,
                                      masking: MaskingOptions(), special: special)
        var o = TrainerOptions()
        o.batchSize = 4; o.maxSteps = 4; o.evalSteps = 2; o.saveSteps = 100; o.layerwiseDecay = 1; o.logSteps = 2
        let out = pt.ft.tempDir()
        let t = try Trainer(task: task, options: o, output: out)
        t.quiet = true
        try t.run(resume: false)
        let log = MetricsLog.read(out.appendingPathComponent("metrics.jsonl"))
        #expect(log.first?["kind"]?.stringValue == "reference")
        #expect(log.first?["unigram_entropy"]?.doubleValue == task.baseline.entropy)
        #expect(log.first?["heldout_unigram_loss"]?.doubleValue != nil)
        let train = log.filter { $0["kind"]?.stringValue == "train" }, eval = log.filter { $0["kind"]?.stringValue == "eval" }
        for key in ["generator_masked_loss", "generator_masked_accuracy", "generator_chosen_accuracy", "generator_loss", "discriminator_auc"] {
            #expect(train.allSatisfy { $0[key] != nil }, "\(key)")
        }
        #expect(eval.count == 2)
        for key in ["generator_masked_loss", "generator_masked_accuracy", "discriminator_auc", "precision", "recall"] {
            #expect(eval.allSatisfy { $0[key] != nil }, "\(key)")
        }
        // The same model scored twice on the same held-out batches gives the same numbers.
        let again = try task.evaluate()!
        #expect(again["generator_masked_loss"] == eval.last!["generator_masked_loss"]!.doubleValue)
        let svg = try String(contentsOf: out.appendingPathComponent("training.svg"), encoding: .utf8)
        #expect(svg.contains("stroke-dasharray") && svg.contains("unigram entropy (training data)"))
        #expect(svg.contains("eval generator_masked_loss"))
    }

    /// The sinusoid table: sin in even columns, cos in odd ones, scaled to the asked RMS.
    @Test func sinusoidalPositionsHaveTheTableAndTheRMS() throws {
        let p = try ElectraForPreTraining(config: { var c = ElectraConfig(); c.vocabSize = 30; c.embeddingSize = 8; c.hiddenSize = 8
            c.numHiddenLayers = 1; c.numAttentionHeads = 1; c.intermediateSize = 8; c.maxPositionEmbeddings = 512; return c }(), seed: 1)
            .backbone.embeddings.position
        let before = p.version
        PositionInitialization.sinusoidal(p, rms: 0.05)
        #expect(p.version != before)
        let w = p.value.scalars, scale = 0.05 * 2.0.squareRoot()
        #expect(abs(Double(w[3 * 8 + 2]) - sin(3 / pow(10000, 2.0 / 8)) * scale) < 1e-6)
        #expect(abs(Double(w[3 * 8 + 3]) - cos(3 / pow(10000, 2.0 / 8)) * scale) < 1e-6)
        let rms = (w.map { Double($0) * Double($0) }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(abs(rms - 0.05) < 0.005)
    }
}
