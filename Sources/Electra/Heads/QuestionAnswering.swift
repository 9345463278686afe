import ElectraKernels

/// HF `ElectraForQuestionAnswering`: qa_outputs (H->2) split into start and end logits.
public final class ElectraForQuestionAnswering: ElectraHeadModel, ElectraTrainable, HeadPass {
    public static let architecture = "ElectraForQuestionAnswering"
    public let config: ElectraConfig
    public let backbone: ElectraBackbone
    public let parameters: ParameterTable
    public let qaOutputs: Linear

    public init(config c: ElectraConfig, builder vb: ParameterBuilder) throws {
        guard c.numLabels == 2 else {
            throw ElectraError("ElectraForQuestionAnswering needs num_labels = 2 (start, end), config has \(c.numLabels)")
        }
        config = c
        backbone = try ElectraBackbone(vb.pp("electra"), config: c)
        qaOutputs = try vb.linear("qa_outputs", in: c.hiddenSize, out: 2)
        parameters = vb.table
    }

    /// start_logits, end_logits [B, L]. Loss: positions clamped to [0, L], cross-entropy with
    /// ignore_index L, (start + end) / 2.
    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput {
        try inferencePass(inputs, options: options)
    }

    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        try trainingPass(inputs, dropout: dropout)
    }

    /// d loss / d start and end logits, [B, L] each.
    struct Activations { let dStart, dEnd: Tensor }
    static let flattensChoices = false
    static let trainingLabels = "start_positions and end_positions [batch]"
    func hasLabels(_ inputs: ElectraInputs) -> Bool { inputs.startPositions != nil && inputs.endPositions != nil }

    /// h [N, H] -> qa_outputs (H->2) -> start and end logits [B, L].
    func headForward(_ h: Tensor, _ batch: TokenBatch, _ inputs: ElectraInputs, training: HeadTraining?)
        throws -> (ElectraOutput, Activations?) {
        let B = batch.batch, L = batch.length, n = batch.tokens
        if batch.segments != nil && (inputs.startPositions != nil || inputs.endPositions != nil) {
            throw ElectraError("start_positions/end_positions need padded batches, not packed sequences (one span per sequence)")
        }
        for (name, t) in [("start_positions", inputs.startPositions), ("end_positions", inputs.endPositions)] {
            if let t, t.values.count != B { throw ElectraError("\(name) has shape \(shapeString(t.shape)); expected [\(B)]") }
        }
        if (inputs.startPositions == nil) != (inputs.endPositions == nil) {
            throw ElectraError("give both start_positions and end_positions, or neither")
        }
        let both = Tensor(zeros: [n, 2])
        qaOutputs.forward(both.pointer, h.pointer, rows: n)
        let start = Tensor(zeros: [B, L]), end = Tensor(zeros: [B, L])
        deinterleave(both.pointer, start.pointer, end.pointer, count: n)
        var out = ElectraOutput()
        out.startLogits = start
        out.endLogits = end
        let dStart = lossGradient([B, L], training), dEnd = lossGradient([B, L], training)
        if let sp = inputs.startPositions, let ep = inputs.endPositions {
            out.loss = try spanLoss(start: start, end: end, startPositions: sp, endPositions: ep, dStart: dStart?.pointer, dEnd: dEnd?.pointer)
        }
        return (out, training.map { _ in Activations(dStart: dStart!, dEnd: dEnd!) })
    }

    func headBackward(_ a: Activations, h: Tensor, dH: Tensor, _ batch: TokenBatch) {
        let n = batch.tokens
        let dBoth = Tensor(zeros: [n, 2])
        interleave(a.dStart.pointer, a.dEnd.pointer, into: dBoth.pointer, count: n)
        qaOutputs.backward(dx: dH.pointer, dy: dBoth.pointer, x: h.pointer, rows: n)
    }

    /// start/end logits [B, L] -> (CE(start) + CE(end)) / 2 with positions clamped to [0, L]
    /// and L ignored; d loss / d start and end logits into the grads when given.
    func spanLoss(
        start: Tensor, end: Tensor, startPositions sp: IntTensor, endPositions ep: IntTensor,
        dStart: UnsafeMutablePointer<Float>? = nil, dEnd: UnsafeMutablePointer<Float>? = nil
    ) throws -> Float {
        let B = start.shape[0], L = start.shape[1]
        let clamp = { (v: Int) in min(max(v, 0), L) }
        let ls = try Losses.crossEntropy(logits: start.pointer, rows: B, classes: L, labels: sp.values.map(clamp), ignoreIndex: L,
                                         labelName: "start_positions", grad: dStart, gradScale: 0.5)
        let le = try Losses.crossEntropy(logits: end.pointer, rows: B, classes: L, labels: ep.values.map(clamp), ignoreIndex: L,
                                         labelName: "end_positions", grad: dEnd, gradScale: 0.5)
        return (ls + le) / 2
    }
}
