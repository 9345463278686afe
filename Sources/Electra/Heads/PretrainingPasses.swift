import ElectraKernels

/// The two training passes of replaced-token detection (ElectraTraining/Pretraining): the
/// generator's masked LM with its prediction layers run only at the masked positions (never
/// [B, L, V] logits), and the discriminator's pass with its loss weighted (50 x BCE in the
/// recipe). Both accumulate (+=) into `Parameter.grad`, so shared weights sum both gradients.
extension ElectraForMaskedLM {
    /// Forward and backward of masked LM predicting only at `positions` (flat, distinct
    /// indices into the [B, L] batch); `targets[i]` is the original token at `positions[i]`.
    /// The gradients are of `lossScale` x the mean cross-entropy; returns that mean (unscaled).
    /// `inspectLogits` sees the logits [M, V] at the positions before the loss gradient
    /// replaces them in place (to sample replacements from, or score predictions): the
    /// vocabulary-wide buffer exists once, and is reused from step to step.
    public func maskedLMForwardBackward(
        _ inputs: ElectraInputs, positions: [Int], targets: [Int], lossScale: Float = 1, dropout: DropoutContext?,
        inspectLogits: ((_ logits: UnsafePointer<Float>, _ rows: Int, _ classes: Int) throws -> Void)? = nil
    ) throws -> Float {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        try batch.requireUnpacked()
        guard !positions.isEmpty else { throw ElectraError("masked LM needs at least one masked position") }
        guard positions.count == targets.count else {
            throw ElectraError("masked LM got \(positions.count) positions but \(targets.count) targets")
        }
        var seen = Set<Int>()
        for p in positions where p < 0 || p >= batch.tokens || !seen.insert(p).inserted {
            throw ElectraError("masked position \(p) is repeated or outside the batch's \(batch.tokens) tokens")
        }
        guard backbone.inferenceDType != .int8 else { throw ElectraError("training needs fp32 or bf16 products (setInferenceDType(.fp32))") }
        let m = positions.count, H = config.hiddenSize, V = config.vocabSize
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let gathered = scratch.tensor(8, [m, H])
        gatherRows(tape.output.pointer, rows: positions, width: H, into: gathered.pointer)
        let (logits, acts) = predictions(gathered.pointer, rows: m, keep: true, scratch: scratch)
        try inspectLogits?(logits.pointer, m, V)
        // The gradient overwrites the logits (softmaxCrossEntropy allows grad == logits).
        let loss = try Losses.crossEntropy(logits: logits.pointer, rows: m, classes: V, labels: targets,
                                           labelName: "masked targets", grad: logits.pointer, gradScale: lossScale)
        let dGathered = scratch.tensor(9, [m, H])
        predictionsBackward(acts.with(dLogits: logits), h: gathered.pointer, dH: dGathered.pointer, rows: m, scratch: scratch)
        let dH = tape.dSequence
        dH.pointer.initialize(repeating: 0, count: dH.count)
        scatterRows(dGathered.pointer, rows: positions, width: H, into: dH.pointer)
        backbone.backward(tape)
        return loss
    }
}

extension ElectraForMaskedLM {
    /// The masked LM's logits [M, V] at `positions` only (flat indices into the [B, L] batch),
    /// inference (no dropout, no gradient): scoring a generator on held-out text without the
    /// [B, L, V] logits of `callAsFunction`.
    public func maskedLMLogits(_ inputs: ElectraInputs, positions: [Int]) throws -> Tensor {
        let h = try backbone(inputs).lastHiddenState!
        let H = config.hiddenSize
        for p in positions where p < 0 || p * H >= h.count {
            throw ElectraError("masked position \(p) is outside the batch's \(h.count / H) tokens")
        }
        let gathered = Tensor(zeros: [positions.count, H])
        gatherRows(h.pointer, rows: positions, width: H, into: gathered.pointer)
        return predictions(gathered.pointer, rows: positions.count, keep: false).logits
    }
}

extension ElectraForPreTraining {
    /// `forwardBackward` with the gradients of `lossScale` x the BCE loss (the returned loss
    /// is unscaled).
    public func forwardBackward(_ inputs: ElectraInputs, lossScale: Float, dropout: DropoutContext?) throws -> ElectraOutput {
        try trainingPass(inputs, dropout: dropout, lossScale: lossScale)
    }
}
