import ElectraKernels

/// HF `ElectraForTokenClassification`: dropout -> classifier (H->num_labels) per token.
public final class ElectraForTokenClassification: ElectraHeadModel, ElectraTrainable, HeadPass {
    public static let architecture = "ElectraForTokenClassification"
    public let config: ElectraConfig
    public let backbone: ElectraBackbone
    public let parameters: ParameterTable
    public let classifier: Linear

    public init(config c: ElectraConfig, builder vb: ParameterBuilder) throws {
        config = c
        backbone = try ElectraBackbone(vb.pp("electra"), config: c)
        classifier = try vb.linear("classifier", in: c.hiddenSize, out: c.numLabels)
        parameters = vb.table
    }

    /// logits [B, L, num_labels]; loss = cross-entropy over every position, -100 ignored.
    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput {
        try inferencePass(inputs, options: options)
    }

    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        try trainingPass(inputs, dropout: dropout)
    }

    /// The classifier's input [N, H] (h after dropout), its mask, d loss / d logits [N, C].
    struct Activations { let x: Tensor; let mask: Tensor?; let dLogits: Tensor }
    static let flattensChoices = false
    static let trainingLabels = "integer labels shaped like input_ids (-100 = ignore)"

    /// h [N, H] -> dropout -> classifier -> logits [B, L, C].
    func headForward(_ h: Tensor, _ batch: TokenBatch, _ inputs: ElectraInputs, training: HeadTraining?)
        throws -> (ElectraOutput, Activations?) {
        let labels = try inputs.tokenLabels()
        let n = batch.tokens, C = config.numLabels
        let (x, mask) = headDropout(h, p: config.effectiveClassifierDropout, training)
        let logits = Tensor(zeros: [batch.batch, batch.length, C])
        classifier.forward(logits.pointer, x.pointer, rows: n)
        let dLogits = lossGradient([n, C], training)
        var out = ElectraOutput(loss: nil, logits: logits)
        if let labels {
            out.loss = try Losses.crossEntropy(logits: logits.pointer, rows: n, classes: C, labels: labels.values, grad: dLogits?.pointer)
        }
        return (out, dLogits.map { Activations(x: x, mask: mask, dLogits: $0) })
    }

    func headBackward(_ a: Activations, h: Tensor, dH: Tensor, _ batch: TokenBatch) {
        let n = batch.tokens
        classifier.backward(dx: dH.pointer, dy: a.dLogits.pointer, x: a.x.pointer, rows: n)
        if let m = a.mask { multiplyInPlace(dH.pointer, m.pointer, count: n * config.hiddenSize) }
    }
}
