import Foundation

/// What a masked LM that knows only word frequencies scores on a corpus: the entropy of its
/// unigram distribution (the cross-entropy of always predicting it, in nats) and the share of
/// its most frequent token (the top-1 accuracy of always predicting that token). Counted over
/// the tokens masking may choose (every id but [CLS], [SEP], [MASK] and padding).
///
/// A generator whose loss on [MASK]ed positions sits near `entropy` and whose top-1 there sits
/// near `topShare` has learned frequencies and nothing of context (on the Wikipedia corpus:
/// 7.26 nats and 0.057, "the"): the reference line every pretraining curve is drawn against.
public struct UnigramBaseline: Sendable, Equatable {
    public var entropy: Double
    public var topShare: Double
    public var topId: Int
    public var tokens: Int
    /// log p(token) by id (empty when built from the numbers alone); -inf for unseen ids.
    public var logProbabilities: [Double] = []

    public init(entropy: Double, topShare: Double, topId: Int, tokens: Int) {
        self.entropy = entropy
        self.topShare = topShare
        self.topId = topId
        self.tokens = tokens
    }

    /// Counts every example of `data` (about 50 ms for 14M tokens).
    public init(data: PretrainingData, special s: SpecialIds) {
        var counts = [Int](repeating: 0, count: max(s.vocabSize, 1))
        var total = 0
        for i in 0..<data.exampleCount {
            for id in data.example(i).ids {
                let t = Int(id)
                guard t != s.cls && t != s.sep && t != s.mask && t != s.pad, t >= 0 else { continue }
                if t >= counts.count { counts += [Int](repeating: 0, count: t + 1 - counts.count) }
                counts[t] += 1
                total += 1
            }
        }
        var h = 0.0, top = 0
        for (t, c) in counts.enumerated() where c > 0 {
            let p = Double(c) / Double(total)
            h -= p * log(p)
            if c > counts[top] { top = t }
        }
        self.init(entropy: h, topShare: total > 0 ? Double(counts[top]) / Double(total) : 0, topId: top, tokens: total)
        logProbabilities = counts.map { $0 > 0 ? log(Double($0) / Double(total)) : -.infinity }
    }

    /// The same predictor scored on other text's targets: its cross-entropy (nats) and the
    /// share of targets that are its top token. The baseline of a held-out curve, whose
    /// frequencies differ from the training data's. Unseen targets are skipped.
    public func score(targets: [Int]) -> (loss: Double, topShare: Double) {
        var loss = 0.0, hits = 0, n = 0
        for t in targets where t >= 0 && t < logProbabilities.count && logProbabilities[t].isFinite {
            loss -= logProbabilities[t]
            n += 1
            if t == topId { hits += 1 }
        }
        return (loss / Double(max(n, 1)), Double(hits) / Double(max(n, 1)))
    }

    /// The reference record of metrics.jsonl ("kind": "reference").
    public var record: [String: Double] {
        ["unigram_entropy": entropy, "unigram_top1_share": topShare, "unigram_top1_id": Double(topId)]
    }
}

/// Warns when a generator is still on the unigram plateau after `tokens` training tokens:
/// its loss on [MASK]ed positions within `margin` nats of the unigram entropy. Healthy runs of
/// the tiny and mini recipes are 1 nat or more below it by then (docs/pretraining.md,
/// "Leaving the unigram plateau"); a run still there has learned word frequencies only, and
/// its discriminator can only learn to spot rare words. Warns once per run.
public struct PlateauWatch: Sendable {
    public var baseline: UnigramBaseline?
    public var tokens = 10_000_000
    public var margin = 0.3
    var seenTokens = 0
    var recentLoss: [Double] = []
    var warned = false

    public init(baseline: UnigramBaseline?) { self.baseline = baseline }

    /// `metrics` of one optimizer step, `stepTokens` the tokens it trained on.
    public mutating func observe(_ metrics: [String: Double], stepTokens: Int) -> String? {
        guard let b = baseline, let loss = metrics["generator_masked_loss"], !warned else { return nil }
        seenTokens += stepTokens
        recentLoss.append(loss)
        if recentLoss.count > 50 { recentLoss.removeFirst() }
        guard seenTokens >= tokens else { return nil }
        let mean = recentLoss.reduce(0, +) / Double(recentLoss.count)
        guard mean > b.entropy - margin else { return nil }
        warned = true
        return String(format: "after %.0fM tokens the generator's loss on [MASK]ed positions is %.2f nats, within %.1f of the data's unigram entropy (%.2f): it has learned word frequencies, not context. ",
                      Double(seenTokens) / 1e6, mean, margin, b.entropy)
            + "The tiny and mini recipe leaves this plateau within about 1,000 steps: sinusoidal positions at RMS 0.1 "
            + "(--position-init sinusoidal --position-init-rms 0.1), a sequence length warmup (--seq-length-warmup) and --dropout 0 "
            + "(docs/pretraining.md, \"Leaving the unigram plateau\")."
    }
}
