import ElectraKernels

/// HF `ElectraForPreTraining` (the discriminator): per-token replaced/original logit.
/// discriminator_predictions.dense (H->H), hidden_act, dense_prediction (H->1).
public final class ElectraForPreTraining: ElectraHeadModel {
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
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        let labels = try inputs.tokenLabels()
        return try backbone.forward(batch, options: options) { h, extras in
            let n = batch.tokens, H = config.hiddenSize
            let hidden = Tensor(zeros: [n, H])
            dense.forward(hidden.pointer, h, rows: n)
            config.hiddenAct.forward(hidden.pointer, rows: n, columns: H)
            let logits = Tensor(zeros: [batch.batch, batch.length])
            densePrediction.forward(logits.pointer, hidden.pointer, rows: n)
            var out = ElectraOutput()
            out.logits = logits
            if let labels { out.loss = try replacedTokenLoss(logits: logits, labels: labels, batch: batch) }
            out.attach(extras, options)
            return out
        }
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
