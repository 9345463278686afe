import ElectraKernels

/// HF `ElectraForQuestionAnswering`: qa_outputs (H->2) split into start and end logits.
public final class ElectraForQuestionAnswering: ElectraHeadModel {
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
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        for (name, t) in [("start_positions", inputs.startPositions), ("end_positions", inputs.endPositions)] {
            if let t, t.values.count != batch.batch {
                throw ElectraError("\(name) has shape \(shapeString(t.shape)); expected [\(batch.batch)]")
            }
        }
        if (inputs.startPositions == nil) != (inputs.endPositions == nil) {
            throw ElectraError("give both start_positions and end_positions, or neither")
        }
        return try backbone.forward(batch, options: options) { h, extras in
            let B = batch.batch, L = batch.length, n = batch.tokens
            let both = Tensor(zeros: [n, 2])
            qaOutputs.forward(both.pointer, h, rows: n)
            let start = Tensor(zeros: [B, L]), end = Tensor(zeros: [B, L])
            for i in 0..<n {
                start.pointer[i] = both.pointer[2 * i]
                end.pointer[i] = both.pointer[2 * i + 1]
            }
            var out = ElectraOutput()
            out.startLogits = start
            out.endLogits = end
            if let sp = inputs.startPositions, let ep = inputs.endPositions {
                out.loss = try spanLoss(start: start, end: end, startPositions: sp, endPositions: ep)
            }
            out.attach(extras, options)
            return out
        }
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
