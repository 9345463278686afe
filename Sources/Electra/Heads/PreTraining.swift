import ElectraKernels

/// HF `ElectraForPreTraining` (the discriminator): per-token replaced/original logit.
/// discriminator_predictions.dense (H->H), hidden_act, dense_prediction (H->1).
public final class ElectraForPreTraining: ElectraHeadModel, ElectraTrainable, HeadPass {
    public static let architecture = "ElectraForPreTraining"
    public let config: ElectraConfig
    public let backbone: ElectraBackbone
    public let parameters: ParameterTable
    public let dense: Linear
    public let densePrediction: Linear

    public init(config c: ElectraConfig, builder vb: ParameterBuilder) throws {
        config = c
        backbone = try ElectraBackbone(vb.pp("electra"), config: c)
        let head = vb.pp("discriminator_predictions")
        dense = try head.linear("dense", in: c.hiddenSize, out: c.hiddenSize)
        densePrediction = try head.linear("dense_prediction", in: c.hiddenSize, out: 1)
        parameters = vb.table
    }

    /// logits [B, L]; loss = BCE-with-logits over positions with attention_mask == 1.
    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput {
        try inferencePass(inputs, options: options)
    }

    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        try trainingPass(inputs, dropout: dropout)
    }

    struct Activations { let pre, act, dLogits: Tensor }  // [N, H], [N, H], [N]
    static let flattensChoices = false
    static let trainingLabels = "integer labels shaped like input_ids (1 = replaced, 0 = original, -100 = ignore)"

    /// h [N, H] -> dense -> hidden_act -> dense_prediction -> logits [B, L].
    func headForward(_ h: Tensor, _ batch: TokenBatch, _ inputs: ElectraInputs, training: HeadTraining?)
        throws -> (ElectraOutput, Activations?) {
        let labels = try inputs.tokenLabels()
        let n = batch.tokens, H = config.hiddenSize
        let pre = Tensor(zeros: [n, H])
        dense.forward(pre.pointer, h.pointer, rows: n)
        let act = activated(config.hiddenAct, pre, keep: training != nil)
        let logits = Tensor(zeros: [batch.batch, batch.length])
        densePrediction.forward(logits.pointer, act.pointer, rows: n)
        let dLogits = lossGradient([n], training)
        var out = ElectraOutput(loss: nil, logits: logits)
        if let labels { out.loss = try replacedTokenLoss(logits: logits, labels: labels, batch: batch, grad: dLogits?.pointer) }
        if let d = dLogits, let s = training?.lossScale, s != 1 { scaleInPlace(d.pointer, n, s) }
        return (out, dLogits.map { Activations(pre: pre, act: act, dLogits: $0) })
    }

    func headBackward(_ a: Activations, h: Tensor, dH: Tensor, _ batch: TokenBatch) {
        let n = batch.tokens, H = config.hiddenSize
        let dAct = Tensor(zeros: [n, H])
        densePrediction.backward(dx: dAct.pointer, dy: a.dLogits.pointer, x: a.act.pointer, rows: n)
        config.hiddenAct.backward(dx: dAct.pointer, dy: dAct.pointer, pre: a.pre.pointer, count: n * H)
        dense.backward(dx: dH.pointer, dy: dAct.pointer, x: h.pointer, rows: n)
    }

    /// BCE-with-logits over positions with attention_mask == 1 (labels must be 0 or 1);
    /// d loss / d logits into `grad` when given.
    func replacedTokenLoss(logits: Tensor, labels: IntTensor, batch: TokenBatch, grad: UnsafeMutablePointer<Float>? = nil) throws -> Float {
        for (i, y) in labels.values.enumerated() where y != 0 && y != 1 {
            throw ElectraError("labels[\(i / batch.length)][\(i % batch.length)] = \(y); replaced-token labels must be 0 or 1")
        }
        return Losses.binaryCrossEntropyWithLogits(
            logits: logits.pointer, targets: labels.values.map(Float.init), include: batch.mask.map { $0 == 1 }, grad: grad)
    }
}
