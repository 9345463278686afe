import Electra
import ElectraKernels
import Foundation

/// ELECTRA's replaced token detection on the shared trainer. Each micro-batch:
/// 1. mask positions (`MaskingOptions`) and run the generator's masked LM at those positions
///    only; its loss (x `recipe.generatorWeight`) back-propagates at once;
/// 2. sample replacements from softmax(logits / temperature) (no gradient through the draw);
/// 3. the discriminator reads the original tokens with the samples at the masked positions,
///    labelled 1 where a sample differs from the original, and its BCE over the attention
///    mask (x `recipe.discriminatorWeight`) back-propagates.
/// Loss = 1 x MLM + 50 x BCE by default. Saved as OUT/discriminator and OUT/generator.
///
/// The recipe's warmups (docs/pretraining.md, "Leaving the unigram plateau"):
/// - sequence length warmup: pieces of 16, 32, ... tokens before whole examples;
/// - generator warmup: the generator trains alone (the discriminator neither runs nor
///   learns), so the shared embeddings first take the shape a masked LM gives them before the
///   discriminator's 50 x weighted gradient joins in;
/// - when the discriminator joins, its encoder can start as a copy of the generator's (the
///   ELECTRA paper's two-stage variant starts its discriminator from the generator too): it
///   inherits an attention that already uses context instead of finding one from a binary
///   signal;
/// - its own weights (not the shared embeddings) ramp their learning rate up from 0: joining
///   at the run's peak rate with fresh Adam moments (whose first updates, without bias
///   correction, are about 3x the rate) it collapsed to a constant output within 10 steps;
/// - sampling starts hot and cools to `recipe.temperature`: a discriminator joining a
///   generator that already knows some language first meets near-random replacements, which it
///   learns to spot at once, as it would beside a young generator, then harder ones.
public final class ReplacedTokenDetectionTask: TrainingTask, PretrainingRun {
    public let generator: ElectraForMaskedLM
    public let discriminator: ElectraForPreTraining
    /// The data, the masking, and the generator of masking and sampling draws.
    public let batches: MaskedBatchSource
    /// Weights, sampling and warmups (the warmups take effect for the run's length when the
    /// trainer sizes it: `didSizeRun`).
    public var recipe: PretrainingRecipe {
        didSet { warmups = recipe.warmups; batches.masking = recipe.masking; applyWarmups() }
    }
    public private(set) var warmups = PretrainingRecipe.Warmups()
    public let extraFiles: [URL]
    public var collapseWatch = CollapseWatch()
    public var plateauWatch: PlateauWatch
    /// The training data's unigram reference (docs: the plateau a generator must leave).
    public let baseline: UnigramBaseline
    /// Held-out examples scored by `evaluate()`: the generator on [MASK]ed positions, the
    /// discriminator on replacements sampled at `evaluationTemperature`.
    public var heldOut: HeldOutBatches?
    /// The paper's sampling (1) unless set: held-out numbers stay comparable across recipes
    /// whatever temperature training samples at.
    public var evaluationTemperature: Float = 1
    /// The dropout written into the saved configs (nil: the one trained with). The CPU recipe
    /// pretrains without dropout; fine-tuning from the folders should get HF's 0.1.
    public var savedDropout: Float?
    var stepTokens = 0
    private lazy var discriminatorOwn: [ObjectIdentifier] = {
        let shared = Set(generator.parameters.uniqueParameters.map { ObjectIdentifier($0.parameter) })
        return discriminator.parameters.uniqueParameters.map { ObjectIdentifier($0.parameter) }.filter { !shared.contains($0) }
    }()

    public init(generator: ElectraForMaskedLM, discriminator: ElectraForPreTraining, data: PretrainingData,
                masking: MaskingOptions, special: SpecialIds, seed: UInt64, extraFiles: [URL] = []) {
        self.generator = generator
        self.discriminator = discriminator
        batches = MaskedBatchSource(data: data, masking: masking, special: special, seed: seed)
        self.extraFiles = extraFiles
        baseline = UnigramBaseline(data: data, special: special)
        plateauWatch = PlateauWatch(baseline: baseline)
        var r = PretrainingRecipe(generatorSize: Double(generator.config.hiddenSize) / Double(discriminator.config.hiddenSize), temperature: 1)
        r.masking = masking
        recipe = r
    }

    public func didSizeRun(totalSteps: Int) {
        warmups = recipe.warmups(totalSteps: totalSteps)
        applyWarmups()
    }

    /// A step's cost against a full step on whole examples, in multiply-adds per token
    /// (`StepCost`): generator-only steps skip the discriminator, and the sequence length
    /// warmup's short pieces attend over fewer positions.
    public func relativeStepCost(atStep step: Int) -> Double {
        let full = batches.data.manifest.maxSeqLength, window = batches.rowLength(atStep: step)
        let mask = recipe.masking.maskProbability
        func cost(_ length: Int, discriminator withDiscriminator: Bool) -> Double {
            StepCost.maskedLM(generator.config, length: length, maskShare: mask)
                + (withDiscriminator ? StepCost.discriminator(discriminator.config, length: length) : 0)
        }
        return cost(window, discriminator: step >= warmups.generator) / cost(full, discriminator: true)
    }

    public var models: [TrainedModel] {
        [TrainedModel(folder: "discriminator", model: discriminator, extraFiles: extraFiles,
                      savedConfig: savedDropout.map { discriminator.config.withDropout($0) }),
         TrainedModel(folder: "generator", model: generator, extraFiles: extraFiles,
                      savedConfig: savedDropout.map { generator.config.withDropout($0) })]
    }
    public var exampleCount: Int { batches.data.exampleCount }
    public var plottedMetrics: [String] { [] }
    /// Held-out curves (`evaluate`) are drawn beside the training ones of the same name.
    public var trainingPanels: [(title: String, metrics: [String])] {
        [("generator loss on [MASK]ed positions (dashed: unigram entropy)", ["generator_masked_loss"]),
         ("generator top-1 on [MASK]ed positions (dashed: unigram top-1 share)", ["generator_masked_accuracy", "generator_chosen_accuracy"]),
         ("discriminator loss", ["discriminator_loss"]),
         ("discriminator on replaced tokens", ["discriminator_auc", "precision", "recall", "replaced_fraction"])]
    }
    public var referenceLines: [ReferenceLine] {
        HeldOutBatches.referenceLines(baseline, heldOut: heldOut, maskId: batches.special.mask)
    }
    public var referenceRecord: [String: Double]? { referenceRecord(baseline, lines: referenceLines) }

    public var runFingerprint: [String: String] {
        var f = batches.fingerprint
        f["objective"] = "rtd"
        f["generator_weight"] = "\(recipe.generatorWeight)"
        f["discriminator_weight"] = "\(recipe.discriminatorWeight)"
        f["temperature"] = "\(recipe.temperature)"
        f["dropout"] = "\(discriminator.config.hiddenDropoutProb)"
        f.merge(warmupFingerprint(warmups, recipe)) { a, _ in a }
        if recipe.discriminatorFromGenerator { f["discriminator_from_generator"] = "true" }
        if let t0 = recipe.startTemperature { f["start_temperature"] = "\(t0)" }
        f.merge(discriminator.config.shapeFingerprint()) { a, _ in a }
        f.merge(generator.config.shapeFingerprint(prefix: "generator_")) { a, _ in a }
        return f
    }

    public func willStartMicroBatch(_ index: Int) { batches.startMicroBatch(index) }

    public func willStartStep(_ step: Int) {
        batches.step = step
        if recipe.discriminatorFromGenerator && warmups.generator > 0 && step == warmups.generator { copyGeneratorEncoder() }
    }

    /// The generator's encoder weights into the discriminator's (same HF names under
    /// electra.encoder and electra.embeddings_project); its head stays as it is.
    func copyGeneratorEncoder() {
        for (name, p) in discriminator.parameters.uniqueParameters
        where name.hasPrefix("electra.encoder.") || name.hasPrefix("electra.embeddings_project.") {
            guard let g = generator.parameters[name], g !== p, g.shape == p.shape else { continue }
            p.pointer.update(from: g.pointer, count: p.value.count)
            p.markChanged()
        }
    }

    /// The sampling temperature at optimizer step `step`.
    public func samplingTemperature(atStep step: Int) -> Float {
        guard let start = recipe.startTemperature, warmups.temperature > 0 else { return recipe.temperature }
        let progress = Float(max(0, step - warmups.generator)) / Float(warmups.temperature)
        return recipe.temperature + (start - recipe.temperature) * max(0, 1 - progress)
    }

    /// The discriminator's own weights: rate 0 during the generator warmup (their gradients
    /// are zero there, and weight decay alone would still shrink them), then the ramp.
    public func learningRateScales(atStep step: Int) -> [ObjectIdentifier: Float] {
        let since = step - warmups.generator
        let scale: Float
        if warmups.generator > 0 && since < 0 {
            scale = 0
        } else if warmups.generator > 0, warmups.discriminatorRamp > 0, since < warmups.discriminatorRamp {
            scale = Float(since + 1) / Float(warmups.discriminatorRamp + 1)
        } else {
            return [:]
        }
        return Dictionary(uniqueKeysWithValues: discriminatorOwn.map { ($0, scale) })
    }

    public func checkpointState() -> [String: JSONValue] { batches.checkpointState() }
    public func restoreCheckpointState(_ state: [String: JSONValue]) throws { try batches.restoreCheckpointState(state) }

    public func trainingStep(_ indices: ArraySlice<Int>, dropout: DropoutContext) throws -> StepResult {
        let mb = batches.next(indices)
        let uniforms = batches.uniforms(mb.positions.count)
        var samples: [Int] = []
        var score = MaskedLMScore()
        let gLoss = try generator.maskedLMForwardBackward(
            mb.inputs(ids: mb.masked), positions: mb.positions, targets: mb.targets,
            lossScale: recipe.generatorWeight, dropout: dropout) { logits, rows, classes in
            score.add(logits: logits, classes: classes, batch: mb, maskId: self.batches.special.mask)
            samples = sampleCategorical(logits: logits, rows: rows, classes: classes, temperature: self.samplingTemperature(atStep: self.batches.step), uniforms: uniforms).samples
        }
        stepTokens += mb.tokens
        if batches.step < warmups.generator {
            var metrics = score.metrics()
            metrics["generator_loss"] = Double(gLoss)
            return StepResult(loss: Double(recipe.generatorWeight) * Double(gLoss), tokens: mb.tokens, metrics: metrics)
        }
        let (ids, labels) = Self.replace(mb, samples: samples)
        let out = try discriminator.forwardBackward(mb.inputs(ids: ids, labels: labels), lossScale: recipe.discriminatorWeight, dropout: dropout)
        let dLoss = out.loss!
        var detection = DetectionScore()
        detection.add(logits: out.logits!.pointer, labels: labels, attentionMask: mb.attentionMask)
        var metrics = score.metrics().merging(detection.metrics()) { a, _ in a }
        metrics["generator_loss"] = Double(gLoss)
        metrics["discriminator_loss"] = Double(dLoss)
        let loss = Double(recipe.generatorWeight) * Double(gLoss) + Double(recipe.discriminatorWeight) * Double(dLoss)
        return StepResult(loss: loss, tokens: mb.tokens, metrics: metrics)
    }

    /// The discriminator's input (the original tokens with each sample at its masked position)
    /// and its labels (1 where the sample differs from the original).
    static func replace(_ mb: MaskedBatch, samples: [Int]) -> (ids: [Int], labels: [Int]) {
        var ids = mb.original, labels = [Int](repeating: 0, count: mb.original.count)
        for (j, p) in mb.positions.enumerated() {
            ids[p] = samples[j]
            labels[p] = samples[j] != mb.original[p] ? 1 : 0
        }
        return (ids, labels)
    }

    /// On `heldOut`: the generator's loss and top-1 on [MASK]ed positions, and the
    /// discriminator's AUC, precision and recall on replacements sampled at
    /// `evaluationTemperature` (no dropout, fixed masking and draws).
    public func evaluate() throws -> [String: Double]? {
        guard let heldOut else { return nil }
        var score = MaskedLMScore(), detection = DetectionScore(), bce = 0.0
        for (mb, uniforms) in zip(heldOut.batches, heldOut.uniforms) {
            let logits = try generator.maskedLMLogits(mb.inputs(ids: mb.masked), positions: mb.positions)
            let V = generator.config.vocabSize
            score.add(logits: logits.pointer, classes: V, batch: mb, maskId: batches.special.mask)
            let samples = sampleCategorical(logits: logits.pointer, rows: mb.positions.count, classes: V,
                                            temperature: evaluationTemperature, uniforms: uniforms).samples
            let (ids, labels) = Self.replace(mb, samples: samples)
            let out = try discriminator(mb.inputs(ids: ids, labels: labels), options: ForwardOptions())
            bce += Double(out.loss!) * Double(mb.tokens)
            detection.add(logits: out.logits!.pointer, labels: labels, attentionMask: mb.attentionMask)
        }
        var m = score.metrics().merging(detection.metrics()) { a, _ in a }
        m["discriminator_loss"] = bce / Double(max(detection.scored.count, 1))
        return m
    }

    public func warning(after metrics: [String: Double]) -> String? {
        defer { stepTokens = 0 }
        return plateauWatch.observe(metrics, stepTokens: stepTokens) ?? collapseWatch.observe(metrics)
    }
}

/// Notices a discriminator that has stopped detecting: no replaced token above 0.5 for
/// `patience` optimizer steps in a row. At small batches this follows the generator learning
/// word frequencies (its samples then look like the data), and the discriminator's outputs stop
/// depending on the input: its loss sits at the entropy of the replaced share and a model
/// fine-tuned from it learns nothing (docs/pretraining/temperature-probe). Healthy runs here
/// went at most 20 steps without a detection, collapsed ones 900 and more; one that
/// recovered went 240. Warns once per run.
public struct CollapseWatch: Sendable {
    public var patience = 500
    var stepsWithoutDetection = 0
    var warned = false

    public init() {}

    public mutating func observe(_ metrics: [String: Double]) -> String? {
        guard let recall = metrics["recall"], (metrics["replaced_fraction"] ?? 0) > 0 else { return nil }
        stepsWithoutDetection = recall > 0 ? 0 : stepsWithoutDetection + 1
        guard stepsWithoutDetection >= patience, !warned else { return nil }
        warned = true
        let auc = metrics["discriminator_auc"].map { String(format: " (AUC %.2f)", $0) } ?? ""
        return "the discriminator has flagged no replaced token for \(patience) steps\(auc): it has probably collapsed "
            + "(its outputs no longer depend on the input), and a model fine-tuned from it learns little. "
            + "A generator warmup with the discriminator started from the generator, a --discriminator-ramp and a hot "
            + "--start-temperature (the tiny and mini recipe), or a larger --batch-size, keep a small-batch run learning "
            + "(docs/pretraining.md, \"Leaving the unigram plateau\")."
    }
}

/// `--objective mlm`: BERT-style masked LM on a discriminator-sized model, with the same data,
/// masking and budget as RTD, saved as OUT/model (ElectraForMaskedLM), for the comparison
/// at equal compute the paper makes.
public final class MaskedLMPretrainingTask: TrainingTask, PretrainingRun {
    public let model: ElectraForMaskedLM
    public let batches: MaskedBatchSource
    public let extraFiles: [URL]
    public var plateauWatch: PlateauWatch
    public let baseline: UnigramBaseline
    /// Masking and the sequence length warmup (the other fields are RTD's).
    public var recipe: PretrainingRecipe {
        didSet { warmups = recipe.warmups; batches.masking = recipe.masking; applyWarmups() }
    }
    public private(set) var warmups = PretrainingRecipe.Warmups()
    /// Held-out examples scored by `evaluate()` (loss and top-1 on [MASK]ed positions).
    public var heldOut: HeldOutBatches?
    /// The dropout written into the saved config (nil: the one trained with).
    public var savedDropout: Float?
    var stepTokens = 0

    public init(model: ElectraForMaskedLM, data: PretrainingData, masking: MaskingOptions, special: SpecialIds,
                seed: UInt64, extraFiles: [URL] = []) {
        self.model = model
        batches = MaskedBatchSource(data: data, masking: masking, special: special, seed: seed)
        self.extraFiles = extraFiles
        baseline = UnigramBaseline(data: data, special: special)
        plateauWatch = PlateauWatch(baseline: baseline)
        var r = PretrainingRecipe(generatorSize: 1, temperature: 1)
        r.masking = masking
        recipe = r
    }

    public func didSizeRun(totalSteps: Int) {
        warmups = recipe.warmups(totalSteps: totalSteps)
        applyWarmups()
    }

    public func willStartStep(_ step: Int) { batches.step = step }
    public func willStartMicroBatch(_ index: Int) { batches.startMicroBatch(index) }

    /// The sequence length warmup's short pieces cost less than whole examples (`StepCost`).
    public func relativeStepCost(atStep step: Int) -> Double {
        let full = batches.data.manifest.maxSeqLength, window = batches.rowLength(atStep: step)
        let mask = recipe.masking.maskProbability
        return StepCost.maskedLM(model.config, length: window, maskShare: mask) / StepCost.maskedLM(model.config, length: full, maskShare: mask)
    }

    public var models: [TrainedModel] {
        [TrainedModel(folder: "model", model: model, extraFiles: extraFiles, savedConfig: savedDropout.map { model.config.withDropout($0) })]
    }
    public var exampleCount: Int { batches.data.exampleCount }
    public var plottedMetrics: [String] { [] }
    public var trainingPanels: [(title: String, metrics: [String])] {
        [("masked LM loss on [MASK]ed positions (dashed: unigram entropy)", ["generator_masked_loss"]),
         ("masked LM top-1 on [MASK]ed positions (dashed: unigram top-1 share)", ["generator_masked_accuracy", "generator_chosen_accuracy"])]
    }
    public var referenceLines: [ReferenceLine] {
        HeldOutBatches.referenceLines(baseline, heldOut: heldOut, maskId: batches.special.mask)
    }
    public var referenceRecord: [String: Double]? { referenceRecord(baseline, lines: referenceLines) }
    public var runFingerprint: [String: String] {
        var f = batches.fingerprint
        f["objective"] = "mlm"
        f["dropout"] = "\(model.config.hiddenDropoutProb)"
        f.merge(warmupFingerprint(warmups, recipe)) { a, _ in a }
        f.merge(model.config.shapeFingerprint()) { a, _ in a }
        return f
    }
    public func checkpointState() -> [String: JSONValue] { batches.checkpointState() }
    public func restoreCheckpointState(_ state: [String: JSONValue]) throws { try batches.restoreCheckpointState(state) }

    public func trainingStep(_ indices: ArraySlice<Int>, dropout: DropoutContext) throws -> StepResult {
        let mb = batches.next(indices)
        var score = MaskedLMScore()
        let loss = try model.maskedLMForwardBackward(mb.inputs(ids: mb.masked), positions: mb.positions,
                                                     targets: mb.targets, dropout: dropout) { logits, _, classes in
            score.add(logits: logits, classes: classes, batch: mb, maskId: self.batches.special.mask)
        }
        var metrics = score.metrics()
        metrics["generator_loss"] = Double(loss)
        stepTokens += mb.tokens
        return StepResult(loss: Double(loss), tokens: mb.tokens, metrics: metrics)
    }

    public func evaluate() throws -> [String: Double]? {
        guard let heldOut else { return nil }
        var score = MaskedLMScore()
        for mb in heldOut.batches {
            let logits = try model.maskedLMLogits(mb.inputs(ids: mb.masked), positions: mb.positions)
            score.add(logits: logits.pointer, classes: model.config.vocabSize, batch: mb, maskId: batches.special.mask)
        }
        return score.metrics()
    }

    public func warning(after metrics: [String: Double]) -> String? {
        defer { stepTokens = 0 }
        return plateauWatch.observe(metrics, stepTokens: stepTokens)
    }
}

/// The area under the ROC curve of scores for positive labels (the probability that a random
/// replaced token scores above a random original one; ties count half), 0.5 when a class is
/// absent. Unlike precision and recall at 0.5, it shows a discriminator learning to rank
/// replacements before any of its probabilities crosses 0.5, which early in pretraining,
/// with 13-15% of tokens replaced, takes thousands of steps (PyTorch behaves the same).
public func rankAUC(_ scored: [(Float, Bool)]) -> Double {
    let sorted = scored.sorted { $0.0 < $1.0 }
    let positives = sorted.filter(\.1).count, negatives = sorted.count - positives
    guard positives > 0, negatives > 0 else { return 0.5 }
    var rankSum = 0.0, i = 0
    while i < sorted.count {
        var j = i
        while j + 1 < sorted.count && sorted[j + 1].0 == sorted[i].0 { j += 1 }
        let rank = Double(i + j) / 2 + 1  // average rank of a tie block
        for k in i...j where sorted[k].1 { rankSum += rank }
        i = j + 1
    }
    return (rankSum - Double(positives) * Double(positives + 1) / 2) / (Double(positives) * Double(negatives))
}

extension ElectraConfig {
    /// The fields that decide a model's weight shapes, by config.json name.
    func shapeFingerprint(prefix: String = "") -> [String: String] {
        ["vocab_size": vocabSize, "embedding_size": embeddingSize, "hidden_size": hiddenSize,
         "num_hidden_layers": numHiddenLayers, "num_attention_heads": numAttentionHeads,
         "intermediate_size": intermediateSize, "max_position_embeddings": maxPositionEmbeddings]
            .reduce(into: [:]) { $0[prefix + $1.key] = "\($1.value)" }
    }
}

/// The warmups a resumed run must share (absent when off, as in runs that predate them).
func warmupFingerprint(_ w: PretrainingRecipe.Warmups, _ r: PretrainingRecipe) -> [String: String] {
    var f: [String: String] = [:]
    if w.sequenceLength > 0 { f["seq_length_warmup"] = "\(w.sequenceLength) steps from \(r.sequenceLengthStart)" }
    if w.generator > 0 { f["generator_warmup"] = "\(w.generator)" }
    if w.discriminatorRamp > 0 { f["discriminator_ramp"] = "\(w.discriminatorRamp)" }
    if w.temperature > 0 { f["temperature_warmup"] = "\(w.temperature)" }
    return f
}

extension TrainingTask {
    /// The baseline's record plus the held-out unigram numbers when there are any.
    func referenceRecord(_ baseline: UnigramBaseline, lines: [ReferenceLine]) -> [String: Double] {
        var r = baseline.record
        for line in lines where line.heldOut {
            r[line.metric == "generator_masked_loss" ? "heldout_unigram_loss" : "heldout_unigram_top1_share"] = line.value
        }
        return r
    }
}
