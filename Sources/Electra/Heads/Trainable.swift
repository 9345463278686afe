import ElectraKernels

/// A head that can compute its loss and the gradients of every parameter.
/// `forwardBackward` runs the training forward pass (with dropout when a context is given),
/// the loss, and the backward pass; parameter gradients are accumulated (+=) into
/// `Parameter.grad`, so gradient accumulation is calling it again before the optimizer step.
public protocol ElectraTrainable: ElectraHeadModel {
    /// `dropout` nil: every dropout off (deterministic; what the gradient tests use).
    func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput
}

extension ElectraTrainable {
    public func forwardBackward(_ inputs: ElectraInputs) throws -> ElectraOutput {
        try forwardBackward(inputs, dropout: nil)
    }
}

/// Head-level dropout: returns x * mask (a copy) and the mask, or x itself when off.
func headDropout(_ x: Tensor, p: Float, _ ctx: DropoutContext?) -> (Tensor, Tensor?) {
    guard let ctx, p > 0 else { return (x, nil) }
    let mask = Tensor(zeros: x.shape)
    ctx.fillMask(mask.pointer, count: x.count, p: p)
    let y = x.copy()
    multiplyInPlace(y.pointer, mask.pointer, count: x.count)
    return (y, mask)
}

extension ElectraHeadModel {
    /// Allocates (zeroed) or zeroes every unique parameter's gradient.
    public func zeroGradients() {
        for (_, p) in parameters.uniqueParameters {
            if p.grad == nil { p.grad = Tensor(zeros: p.shape) } else { p.zeroGrad() }
        }
    }
}

/// Scatters per-sequence gradients [S, H] back into the sequence gradient [S*L, H] at the
/// positions a head read (first token, last token, or all tokens averaged).
func scatterSummaryGradient(
    _ d: UnsafePointer<Float>, into dSeq: UnsafeMutablePointer<Float>, sequences s: Int, length l: Int,
    hidden h: Int, mode: String
) {
    dSeq.initialize(repeating: 0, count: s * l * h)
    for i in 0..<s {
        let src = d + i * h
        switch mode {
        case "first": (dSeq + i * l * h).update(from: src, count: h)
        case "mean":
            for t in 0..<l {
                let dst = dSeq + (i * l + t) * h
                for j in 0..<h { dst[j] = src[j] / Float(l) }
            }
        default: (dSeq + (i * l + l - 1) * h).update(from: src, count: h)
        }
    }
}

/// `y = act(x)` keeping x: copies `pre` into `out` and applies the activation there.
func activate(_ act: Activation, pre: Tensor, out: Tensor, rows: Int, columns: Int) {
    out.pointer.update(from: pre.pointer, count: rows * columns)
    act.forward(out.pointer, rows: rows, columns: columns)
}

extension ElectraForPreTraining: ElectraTrainable {
    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        let labels = try inputs.requiredTokenLabels("ElectraForPreTraining")
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let n = batch.tokens, H = config.hiddenSize
        let h = tape.output
        let pre = Tensor(zeros: [n, H]), act = Tensor(zeros: [n, H])
        dense.forward(pre.pointer, h.pointer, rows: n)
        activate(config.hiddenAct, pre: pre, out: act, rows: n, columns: H)
        let logits = Tensor(zeros: [batch.batch, batch.length])
        densePrediction.forward(logits.pointer, act.pointer, rows: n)
        let dLogits = Tensor(zeros: [n])
        let loss = try replacedTokenLoss(logits: logits, labels: labels, batch: batch, grad: dLogits.pointer)
        let dAct = Tensor(zeros: [n, H]), dH = Tensor(zeros: [n, H])
        densePrediction.backward(dx: dAct.pointer, dy: dLogits.pointer, x: act.pointer, rows: n)
        config.hiddenAct.backward(dx: dAct.pointer, dy: dAct.pointer, pre: pre.pointer, count: n * H)
        dense.backward(dx: dH.pointer, dy: dAct.pointer, x: h.pointer, rows: n)
        backbone.backward(tape, dSequence: dH.pointer)
        return ElectraOutput(loss: loss, logits: logits)
    }
}

extension ElectraForMaskedLM: ElectraTrainable {
    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        let labels = try inputs.requiredTokenLabels("ElectraForMaskedLM")
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let n = batch.tokens, E = config.embeddingSize, V = config.vocabSize
        let h = tape.output
        let pre = Tensor(zeros: [n, E]), act = Tensor(zeros: [n, E]), normed = Tensor(zeros: [n, E])
        let mean = Tensor(zeros: [n]), rstd = Tensor(zeros: [n])
        dense.forward(pre.pointer, h.pointer, rows: n)
        activate(.gelu, pre: pre, out: act, rows: n, columns: E)
        layerNorm.forward(normed.pointer, act.pointer, rows: n, mean: mean.pointer, rstd: rstd.pointer)
        let logits = Tensor(zeros: [batch.batch, batch.length, V])
        lmHead.forward(logits.pointer, normed.pointer, rows: n)
        let dLogits = Tensor(zeros: [n, V])
        let loss = try Losses.crossEntropy(logits: logits.pointer, rows: n, classes: V, labels: labels.values, grad: dLogits.pointer)
        let dNormed = Tensor(zeros: [n, E]), dAct = Tensor(zeros: [n, E]), dH = Tensor(zeros: [n, config.hiddenSize])
        // The tied weight's gradient lands in the word-embedding Parameter's buffer.
        lmHead.backward(dx: dNormed.pointer, dy: dLogits.pointer, x: normed.pointer, rows: n)
        layerNorm.backward(dx: dAct.pointer, dy: dNormed.pointer, input: act.pointer, residual: nil, mean: mean.pointer, rstd: rstd.pointer, rows: n)
        Activation.gelu.backward(dx: dAct.pointer, dy: dAct.pointer, pre: pre.pointer, count: n * E)
        dense.backward(dx: dH.pointer, dy: dAct.pointer, x: h.pointer, rows: n)
        backbone.backward(tape, dSequence: dH.pointer)
        return ElectraOutput(loss: loss, logits: logits)
    }
}

extension ElectraForSequenceClassification: ElectraTrainable {
    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        guard inputs.labels != nil || inputs.floatLabels != nil else {
            throw ElectraError("training ElectraForSequenceClassification needs labels")
        }
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let B = batch.batch, L = batch.length, H = config.hiddenSize, C = config.numLabels
        let h = tape.output
        let pc = config.effectiveClassifierDropout
        let (cls, clsMask) = headDropout(gatherRows(h.pointer, width: H, count: B) { $0 * L }, p: pc, dropout)
        let pre = Tensor(zeros: [B, H]), act0 = Tensor(zeros: [B, H])
        dense.forward(pre.pointer, cls.pointer, rows: B)
        activate(.gelu, pre: pre, out: act0, rows: B, columns: H)
        let (act, actMask) = headDropout(act0, p: pc, dropout)
        let logits = Tensor(zeros: [B, C])
        outProj.forward(logits.pointer, act.pointer, rows: B)
        let dLogits = Tensor(zeros: [B, C])
        let loss = try classificationLoss(logits: logits, inputs: inputs, batch: B, grad: dLogits.pointer)
        let dAct = Tensor(zeros: [B, H]), dCls = Tensor(zeros: [B, H]), dH = Tensor(zeros: [B * L, H])
        outProj.backward(dx: dAct.pointer, dy: dLogits.pointer, x: act.pointer, rows: B)
        if let actMask { multiplyInPlace(dAct.pointer, actMask.pointer, count: B * H) }
        Activation.gelu.backward(dx: dAct.pointer, dy: dAct.pointer, pre: pre.pointer, count: B * H)
        dense.backward(dx: dCls.pointer, dy: dAct.pointer, x: cls.pointer, rows: B)
        if let clsMask { multiplyInPlace(dCls.pointer, clsMask.pointer, count: B * H) }
        scatterSummaryGradient(dCls.pointer, into: dH.pointer, sequences: B, length: L, hidden: H, mode: "first")
        backbone.backward(tape, dSequence: dH.pointer)
        return ElectraOutput(loss: loss, logits: logits)
    }
}

extension ElectraForTokenClassification: ElectraTrainable {
    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        let labels = try inputs.requiredTokenLabels("ElectraForTokenClassification")
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let n = batch.tokens, C = config.numLabels
        let (h, mask) = headDropout(tape.output, p: config.effectiveClassifierDropout, dropout)
        let logits = Tensor(zeros: [batch.batch, batch.length, C])
        classifier.forward(logits.pointer, h.pointer, rows: n)
        let dLogits = Tensor(zeros: [n, C])
        let loss = try Losses.crossEntropy(logits: logits.pointer, rows: n, classes: C, labels: labels.values, grad: dLogits.pointer)
        let dH = Tensor(zeros: [n, config.hiddenSize])
        classifier.backward(dx: dH.pointer, dy: dLogits.pointer, x: h.pointer, rows: n)
        if let mask { multiplyInPlace(dH.pointer, mask.pointer, count: n * config.hiddenSize) }
        backbone.backward(tape, dSequence: dH.pointer)
        return ElectraOutput(loss: loss, logits: logits)
    }
}

extension ElectraForQuestionAnswering: ElectraTrainable {
    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        guard let sp = inputs.startPositions, let ep = inputs.endPositions,
              sp.values.count == batch.batch, ep.values.count == batch.batch else {
            throw ElectraError("training ElectraForQuestionAnswering needs start_positions and end_positions [batch]")
        }
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let B = batch.batch, L = batch.length, n = batch.tokens
        let both = Tensor(zeros: [n, 2])
        qaOutputs.forward(both.pointer, tape.output.pointer, rows: n)
        let start = Tensor(zeros: [B, L]), end = Tensor(zeros: [B, L])
        for i in 0..<n { start.pointer[i] = both.pointer[2 * i]; end.pointer[i] = both.pointer[2 * i + 1] }
        let dStart = Tensor(zeros: [B, L]), dEnd = Tensor(zeros: [B, L])
        let loss = try spanLoss(start: start, end: end, startPositions: sp, endPositions: ep, dStart: dStart.pointer, dEnd: dEnd.pointer)
        let dBoth = Tensor(zeros: [n, 2])
        for i in 0..<n { dBoth.pointer[2 * i] = dStart.pointer[i]; dBoth.pointer[2 * i + 1] = dEnd.pointer[i] }
        let dH = Tensor(zeros: [n, config.hiddenSize])
        qaOutputs.backward(dx: dH.pointer, dy: dBoth.pointer, x: tape.output.pointer, rows: n)
        backbone.backward(tape, dSequence: dH.pointer)
        var out = ElectraOutput()
        out.loss = loss
        out.startLogits = start
        out.endLogits = end
        return out
    }
}

extension ElectraForMultipleChoice: ElectraTrainable {
    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: true)
        let B = inputs.inputIds.shape[0], C = inputs.inputIds.shape[1]
        guard let labels = try inputs.requireIntLabels(), labels.values.count == B else {
            throw ElectraError("training ElectraForMultipleChoice needs labels [batch] (choice indices)")
        }
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let S = batch.batch, L = batch.length, H = config.hiddenSize
        let summary = sequenceSummary
        let (picked, firstMask) = headDropout(summary.pick(tape.output.pointer, sequences: S, length: L, hidden: H),
                                              p: config.summaryFirstDropout ?? 0, dropout)
        let width = summary.summary?.outFeatures ?? H
        let pre = summary.summary == nil ? picked : Tensor(zeros: [S, width])
        summary.summary?.forward(pre.pointer, picked.pointer, rows: S)
        let act0 = Tensor(zeros: [S, width])
        activate(summary.activation, pre: pre, out: act0, rows: S, columns: width)
        let (act, lastMask) = headDropout(act0, p: config.summaryLastDropout, dropout)
        let logits = Tensor(zeros: [B, C])
        classifier.forward(logits.pointer, act.pointer, rows: S)
        let dLogits = Tensor(zeros: [B, C])
        let loss = try Losses.crossEntropy(logits: logits.pointer, rows: B, classes: C, labels: labels.values, grad: dLogits.pointer)
        let dAct = Tensor(zeros: [S, width]), dPicked = Tensor(zeros: [S, H]), dH = Tensor(zeros: [S * L, H])
        classifier.backward(dx: dAct.pointer, dy: dLogits.pointer, x: act.pointer, rows: S)
        if let lastMask { multiplyInPlace(dAct.pointer, lastMask.pointer, count: S * width) }
        summary.activation.backward(dx: dAct.pointer, dy: dAct.pointer, pre: pre.pointer, count: S * width)
        if let proj = summary.summary {
            proj.backward(dx: dPicked.pointer, dy: dAct.pointer, x: picked.pointer, rows: S)
        } else {
            dPicked.pointer.update(from: dAct.pointer, count: S * H)
        }
        if let firstMask { multiplyInPlace(dPicked.pointer, firstMask.pointer, count: S * H) }
        scatterSummaryGradient(dPicked.pointer, into: dH.pointer, sequences: S, length: L, hidden: H, mode: summary.type)
        backbone.backward(tape, dSequence: dH.pointer)
        return ElectraOutput(loss: loss, logits: logits)
    }
}
