import ElectraKernels

/// HF `ElectraForTokenClassification`: dropout -> classifier (H->num_labels) per token.
public final class ElectraForTokenClassification: ElectraHeadModel {
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
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        let labels = try inputs.tokenLabels()
        return try backbone.forward(batch, options: options) { h, extras in
            let C = config.numLabels
            let logits = Tensor(zeros: [batch.batch, batch.length, C])
            classifier.forward(logits.pointer, h, rows: batch.tokens)
            var out = ElectraOutput()
            out.logits = logits
            if let labels {
                out.loss = try Losses.crossEntropy(logits: logits.pointer, rows: batch.tokens, classes: C, labels: labels.values)
            }
            out.attach(extras, options)
            return out
        }
    }
}
