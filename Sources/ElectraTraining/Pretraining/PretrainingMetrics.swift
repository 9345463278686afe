import Electra
import ElectraKernels

/// A masked LM's predictions at the chosen positions of a batch, scored two ways: over the
/// positions whose input was [MASK] (what the model must infer from context: the honest
/// number) and over every chosen position, the 15% left unchanged included (the model copies
/// those from its input, which inflates accuracy by about 0.15 and lowers the loss).
struct MaskedLMScore {
    var maskedLoss = 0.0, maskedHits = 0, maskedCount = 0
    var chosenHits = 0, chosenCount = 0

    /// `logits` [M, V] at `batch.positions`; rows whose input (`batch.masked`) is `maskId` count as masked.
    mutating func add(logits: UnsafePointer<Float>, classes: Int, batch: MaskedBatch, maskId: Int) {
        let m = batch.positions.count
        let (losses, hits) = rowCrossEntropyAndHits(logits: logits, rows: m, classes: classes, labels: batch.targets)
        for j in 0..<m {
            chosenCount += 1
            if hits[j] { chosenHits += 1 }
            guard batch.masked[batch.positions[j]] == maskId else { continue }
            maskedCount += 1
            maskedLoss += Double(losses[j])
            if hits[j] { maskedHits += 1 }
        }
    }

    /// generator_masked_loss / _accuracy ([MASK]ed positions), generator_chosen_accuracy (all).
    func metrics(prefix: String = "") -> [String: Double] {
        var out = [prefix + "generator_chosen_accuracy": Double(chosenHits) / Double(max(chosenCount, 1))]
        if maskedCount > 0 {  // a batch can have no [MASK]ed position (all chosen kept): no number, not a 0
            out[prefix + "generator_masked_loss"] = maskedLoss / Double(maskedCount)
            out[prefix + "generator_masked_accuracy"] = Double(maskedHits) / Double(maskedCount)
        }
        return out
    }
}

/// A discriminator's replaced-token predictions over real tokens: counts at its decision
/// (p > 0.5) and the scores for the AUC.
public struct DetectionScore {
    var scored: [(Float, Bool)] = []
    var tp = 0, fp = 0, fn = 0, right = 0, replaced = 0

    public init() {}

    /// `logits` [B*L]; `labels` 1 = replaced; tokens where `attentionMask` is 0 are skipped.
    mutating func add(logits z: UnsafePointer<Float>, labels: [Int], attentionMask: [Int]) {
        for i in 0..<labels.count where attentionMask[i] == 1 {
            add(score: z[i], predicted: z[i] > 0, replaced: labels[i] == 1)
        }
    }

    /// One token: any score that ranks like the logit (the logit, the probability), whether the
    /// discriminator calls it replaced, and whether it was.
    public mutating func add(score: Float, predicted: Bool, replaced actual: Bool) {
        scored.append((score, actual))
        if actual { replaced += 1 }
        if predicted == actual { right += 1 }
        if predicted && actual { tp += 1 } else if predicted { fp += 1 } else if actual { fn += 1 }
    }

    public var tokens: Int { scored.count }
    public var precision: Double { tp + fp > 0 ? Double(tp) / Double(tp + fp) : 0 }
    public var recall: Double { tp + fn > 0 ? Double(tp) / Double(tp + fn) : 0 }
    public var replacedShare: Double { Double(replaced) / Double(max(tokens, 1)) }
    /// The chance a replaced token scores above an original one (0.5: guessing).
    public var auc: Double { rankAUC(scored) }

    func metrics(prefix: String = "") -> [String: Double] {
        [prefix + "discriminator_accuracy": Double(right) / Double(max(tokens, 1)),
         prefix + "precision": precision, prefix + "recall": recall,
         prefix + "replaced_fraction": replacedShare, prefix + "discriminator_auc": auc]
    }
}

/// Held-out examples masked once with a fixed seed, with fixed sampling draws: every
/// evaluation of a run scores the same positions and replacements, so its curve moves only
/// with the model.
public struct HeldOutBatches {
    let batches: [MaskedBatch]
    let uniforms: [[Float]]
    public let examples: Int

    /// The targets of the positions whose input is [MASK].
    func maskedTargets(maskId: Int) -> [Int] {
        batches.flatMap { b in zip(b.positions, b.targets).filter { b.masked[$0.0] == maskId }.map(\.1) }
    }

    /// The unigram reference lines of a masked LM's curves: the training data's own entropy
    /// and top-1 share, and (with `heldOut`) the same predictor scored on the held-out targets.
    static func referenceLines(_ baseline: UnigramBaseline, heldOut: HeldOutBatches?, maskId: Int) -> [ReferenceLine] {
        var lines = [ReferenceLine(metric: "generator_masked_loss", label: "unigram entropy (training data)", value: baseline.entropy),
                     ReferenceLine(metric: "generator_masked_accuracy", label: "unigram top-1 share (training data)", value: baseline.topShare)]
        if let heldOut {
            let s = baseline.score(targets: heldOut.maskedTargets(maskId: maskId))
            lines.append(ReferenceLine(metric: "generator_masked_loss", label: "unigram on held-out [MASK]ed targets", value: s.loss, heldOut: true))
            lines.append(ReferenceLine(metric: "generator_masked_accuracy", label: "unigram top-1 on held-out [MASK]ed targets", value: s.topShare, heldOut: true))
        }
        return lines
    }

    public init(data: PretrainingData, examples: Int, batchSize: Int = 32, masking: MaskingOptions, special: SpecialIds, seed: UInt64 = 2024) {
        let n = min(examples, data.exampleCount)
        var rng = Xoshiro256(seed: seed)
        var batches: [MaskedBatch] = [], uniforms: [[Float]] = []
        var lo = 0
        while lo < n {
            let b = data.maskedBatch(ArraySlice(lo..<min(lo + batchSize, n)), options: masking, special: special, rng: &rng)
            uniforms.append((0..<b.positions.count).map { _ in rng.nextUniform() })
            batches.append(b)
            lo += batchSize
        }
        self.batches = batches
        self.uniforms = uniforms
        self.examples = n
    }
}
