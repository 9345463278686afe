import Electra
import ElectraKernels

/// Which tokens the generator must predict, as google-research/electra's pretrain_helpers.mask
/// chooses them: candidates are every token except [CLS], [SEP], [MASK] and padding;
/// round(mask_prob x tokens) of them (at least 1, at most int((mask_prob + 0.005) x
/// max_length)) are drawn uniformly; each becomes [MASK] with `maskTokenShare`, a random
/// token with `randomTokenShare`, and stays itself otherwise (the original: 0.85, 0, 0.15).
public struct MaskingOptions: Sendable, Equatable {
    public var maskProbability = 0.15
    public var maskTokenShare = 0.85
    public var randomTokenShare = 0.0
    public init() {}

    public func validate() throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw ElectraError(m) } }
        try check(maskProbability > 0 && maskProbability < 1, "--mask-prob must be in (0, 1), got \(maskProbability)")
        try check(maskTokenShare >= 0 && randomTokenShare >= 0 && maskTokenShare + randomTokenShare <= 1,
                  "--mask-token-share and --random-token-share must be >= 0 and add up to at most 1, got \(maskTokenShare) and \(randomTokenShare)")
    }
}

/// A padded batch of packed examples with its masked positions.
public struct MaskedBatch {
    public let batch: Int, length: Int
    /// [B*L] the original ids (padding = pad id), the generator's input, type ids, attention mask.
    public var original: [Int], masked: [Int], typeIds: [Int], attentionMask: [Int]
    /// Flat indices into [B*L] of the masked positions (ascending), and their original ids.
    public var positions: [Int], targets: [Int]
    public var tokens: Int { attentionMask.reduce(0, +) }

    func inputs(ids: [Int], labels: [Int]? = nil) -> ElectraInputs {
        let shape = [batch, length]
        var x = ElectraInputs(inputIds: IntTensor(shape: shape, values: ids),
                              attentionMask: IntTensor(shape: shape, values: attentionMask),
                              tokenTypeIds: IntTensor(shape: shape, values: typeIds))
        if let labels { x.labels = IntTensor(shape: shape, values: labels) }
        return x
    }
}

/// The special ids masking needs.
public struct SpecialIds: Sendable {
    public var cls, sep, mask, pad: Int
    public var vocabSize: Int
    public init(cls: Int, sep: Int, mask: Int, pad: Int, vocabSize: Int) {
        self.cls = cls; self.sep = sep; self.mask = mask; self.pad = pad; self.vocabSize = vocabSize
    }
}

extension PretrainingData {
    /// Examples `indices` padded to the longest, with positions masked by `rng`. With
    /// `window` shorter than the data's examples, each example is cut into consecutive pieces
    /// of at most `window` tokens, each a row of its own with positions from 0 (sequence length
    /// warmup: the same tokens in more, shorter rows).
    public func maskedBatch(_ indices: ArraySlice<Int>, options: MaskingOptions, special s: SpecialIds,
                            rng: inout Xoshiro256, window: Int? = nil) -> MaskedBatch {
        var rows: [(ids: Slice<UnsafeBufferPointer<Int32>>, firstEnd: Int)] = []
        for i in indices {
            let (ids, firstEnd) = example(i)
            guard let w = window, w < ids.count else { rows.append((ids[...], firstEnd)); continue }
            for start in stride(from: 0, to: ids.count, by: w) where ids.count - start >= 2 {
                rows.append((ids[start..<min(start + w, ids.count)], firstEnd - start))
            }
        }
        let b = rows.count
        let length = rows.map(\.ids.count).max() ?? 1
        var original = [Int](repeating: s.pad, count: b * length)
        var types = [Int](repeating: 0, count: b * length), mask = [Int](repeating: 0, count: b * length)
        for (row, (ids, firstEnd)) in rows.enumerated() {
            for (k, id) in ids.enumerated() {
                original[row * length + k] = Int(id)
                types[row * length + k] = k < firstEnd ? 0 : 1
                mask[row * length + k] = 1
            }
        }
        var masked = original, positions: [Int] = [], targets: [Int] = []
        let maxPredictions = max(1, Int((options.maskProbability + 0.005) * Double(min(window ?? .max, manifest.maxSeqLength))))
        var candidates: [Int] = []
        for row in 0..<b {
            candidates.removeAll(keepingCapacity: true)
            var tokens = 0
            for k in 0..<length where mask[row * length + k] == 1 {
                tokens += 1
                let id = original[row * length + k]
                if id != s.cls && id != s.sep && id != s.mask && id != s.pad { candidates.append(row * length + k) }
            }
            let wanted = max(1, min(maxPredictions, Int((Double(tokens) * options.maskProbability).rounded())))
            let n = min(wanted, candidates.count)
            for j in 0..<n {  // partial Fisher-Yates: a uniform n-subset
                let pick = j + Int(rng.next() % UInt64(candidates.count - j))
                candidates.swapAt(j, pick)
            }
            let chosen = candidates[0..<n].sorted()
            for p in chosen {
                positions.append(p)
                targets.append(original[p])
                let u = Double(rng.next() >> 11) * 0x1p-53
                if u < options.maskTokenShare {
                    masked[p] = s.mask
                } else if u < options.maskTokenShare + options.randomTokenShare {
                    masked[p] = Int(rng.next() % UInt64(s.vocabSize))
                }
            }
        }
        return MaskedBatch(batch: b, length: length, original: original, masked: masked, typeIds: types,
                           attentionMask: mask, positions: positions, targets: targets)
    }
}

/// Sequence length warmup (Li et al. 2022, "The Stability-Efficiency Dilemma: Investigating
/// Sequence Length Warmup for Training GPT Models"): the first `steps` optimizer steps train on
/// pieces of the examples, `start` tokens long, then twice that, and so on, each length for an
/// equal share of the steps, then on whole examples. Tokens per step stay the same.
///
/// Why it matters here: a [MASK]ed position can only be predicted from other positions, and
/// with attention uniform over 128 tokens (HF's initialisation) what reaches it is a bag of
/// the whole example, which says little about one word. In 16 tokens the same uniform
/// attention is a local window, the model learns at once from the neighbours, and learns to
/// attend by position among 16 positions before it meets 128 (docs/pretraining.md, "Leaving
/// the unigram plateau").
public struct SequenceLengthWarmup: Sendable, Equatable {
    public var steps: Int
    public var start: Int

    public init(steps: Int, start: Int = 16) {
        self.steps = steps
        self.start = start
    }

    /// The piece length at optimizer step `step` (0-based), nil for whole examples.
    public func window(atStep step: Int, maxLength: Int) -> Int? {
        guard step < steps, start < maxLength else { return nil }
        var lengths: [Int] = []
        var w = start
        while w < maxLength { lengths.append(w); w *= 2 }
        return lengths[min(lengths.count - 1, step * lengths.count / max(steps, 1))]
    }
}

/// Where both pretraining objectives draw their batches: the data, the masking options, and
/// the generator of masking (and the RTD task's sampling) draws, which checkpoints save so
/// that a resumed run draws what the uninterrupted one would have.
public final class MaskedBatchSource {
    public let data: PretrainingData
    public var masking: MaskingOptions
    public let special: SpecialIds
    public var lengthWarmup: SequenceLengthWarmup?
    /// The optimizer step the next batches are for (set by the task before each step).
    var step = 0
    var rng: Xoshiro256
    let seed: UInt64

    public init(data: PretrainingData, masking: MaskingOptions, special: SpecialIds, seed: UInt64) {
        self.data = data
        self.masking = masking
        self.special = special
        self.seed = seed
        rng = Xoshiro256(seed: seed &+ 31)
    }

    /// Draws for micro-batch `index` of the current step from a generator seeded by (seed,
    /// step, index) alone: a micro-batch masks and samples the same on any rank of a
    /// data-parallel job as in one process accumulating the same micro-batches.
    func startMicroBatch(_ index: Int) {
        rng = Xoshiro256(seed: MicroBatchSeed.derive(seed &+ 31, step: step, microBatch: index))
    }

    /// Pieces of `start`, 2 x `start`, ... tokens for the first `steps` optimizer steps, then
    /// whole examples (0 steps: whole examples throughout).
    public func useLengthWarmup(steps: Int, start: Int) {
        lengthWarmup = steps > 0 ? SequenceLengthWarmup(steps: steps, start: start) : nil
    }

    /// The longest row of optimizer step `step`'s batches: the warmup's piece length, or the data's.
    public func rowLength(atStep step: Int) -> Int {
        let full = data.manifest.maxSeqLength
        return lengthWarmup?.window(atStep: step, maxLength: full) ?? full
    }

    /// Examples `indices` padded and masked.
    public func next(_ indices: ArraySlice<Int>) -> MaskedBatch {
        data.maskedBatch(indices, options: masking, special: special, rng: &rng,
                         window: lengthWarmup?.window(atStep: step, maxLength: data.manifest.maxSeqLength))
    }

    /// `n` uniforms in [0, 1) from the same generator (sampling replacements).
    public func uniforms(_ n: Int) -> [Float] { (0..<n).map { _ in rng.nextUniform() } }

    /// What a resumed run must share about its data and masking.
    var fingerprint: [String: String] {
        ["data_examples": "\(data.exampleCount)", "data_tokens": "\(data.manifest.tokens)", "tokenizer": data.manifest.tokenizerFingerprint,
         "mask_prob": "\(masking.maskProbability)", "mask_token_share": "\(masking.maskTokenShare)",
         "random_token_share": "\(masking.randomTokenShare)"]
    }

    func checkpointState() -> [String: JSONValue] { ["rng": .array(rng.state.map { .string(String($0)) })] }

    func restoreCheckpointState(_ state: [String: JSONValue]) throws {
        guard let words = state["rng"]?.arrayValue else { return }
        let values = words.compactMap { $0.stringValue.flatMap(UInt64.init) }
        guard values.count == 4 else { throw ElectraError("trainer_state.json: the task's generator state is corrupt") }
        rng.state = values
    }
}
