import ElectraKernels

/// The two training passes of replaced-token detection (ElectraTraining/Pretraining): the
/// generator's masked LM with its prediction layers run only at the masked positions (never
/// [B, L, V] logits), and the discriminator's pass with its loss weighted (50 x BCE in the
/// recipe). Both accumulate (+=) into `Parameter.grad`, so shared weights sum both gradients.
extension ElectraForMaskedLM {
    /// Forward and backward of masked LM predicting only at `positions` (flat, distinct
    /// indices into the [B, L] batch); `targets[i]` is the original token at `positions[i]`.
    /// The gradients are of `lossScale` x the mean cross-entropy. Returns that mean (unscaled)
    /// and the logits [M, V] at the positions, e.g. to sample replacements from.
    public func maskedLMForwardBackward(
        _ inputs: ElectraInputs, positions: [Int], targets: [Int], lossScale: Float = 1, dropout: DropoutContext?
    ) throws -> (loss: Float, logits: Tensor) {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        guard !positions.isEmpty else { throw ElectraError("masked LM needs at least one masked position") }
        guard positions.count == targets.count else {
            throw ElectraError("masked LM got \(positions.count) positions but \(targets.count) targets")
        }
        var seen = Set<Int>()
        for p in positions where p < 0 || p >= batch.tokens || !seen.insert(p).inserted {
            throw ElectraError("masked position \(p) is repeated or outside the batch's \(batch.tokens) tokens")
        }
        guard backbone.inferenceDType == .fp32 else { throw ElectraError("training needs fp32 products (setInferenceDType(.fp32))") }
        let m = positions.count, H = config.hiddenSize, V = config.vocabSize
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let gathered = Tensor(zeros: [m, H])
        gatherRows(tape.output.pointer, rows: positions, width: H, into: gathered.pointer)
        let (logits, acts) = predictions(gathered.pointer, rows: m, keep: true)
        let dLogits = Tensor(zeros: [m, V])
        let loss = try Losses.crossEntropy(logits: logits.pointer, rows: m, classes: V, labels: targets,
                                           labelName: "masked targets", grad: dLogits.pointer, gradScale: lossScale)
        let dGathered = Tensor(zeros: [m, H])
        predictionsBackward(acts.with(dLogits: dLogits), h: gathered.pointer, dH: dGathered.pointer, rows: m)
        let dH = tape.dSequence
        dH.pointer.initialize(repeating: 0, count: dH.count)
        scatterRows(dGathered.pointer, rows: positions, width: H, into: dH.pointer)
        backbone.backward(tape)
        return (loss, logits)
    }
}

extension ElectraForPreTraining {
    /// `forwardBackward` with the gradients of `lossScale` x the BCE loss (the returned loss
    /// is unscaled).
    public func forwardBackward(_ inputs: ElectraInputs, lossScale: Float, dropout: DropoutContext?) throws -> ElectraOutput {
        try trainingPass(inputs, dropout: dropout, lossScale: lossScale)
    }
}
