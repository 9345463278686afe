import ElectraKernels

/// HF `ElectraForMaskedLM` (the generator): generator_predictions.dense (H->E), gelu,
/// generator_predictions.LayerNorm (E), generator_lm_head (E->vocab) whose weight is the word
/// embedding matrix when tie_word_embeddings (the default) and whose bias is its own.
public final class ElectraForMaskedLM: ElectraHeadModel {
    public static let architecture = "ElectraForMaskedLM"
    public let config: ElectraConfig
    public let backbone: ElectraBackbone
    public let parameters: ParameterTable
    public let dense: Linear
    public let layerNorm: LayerNormWeights
    public let lmHead: Linear

    public init(config c: ElectraConfig, builder vb: ParameterBuilder) throws {
        config = c
        backbone = try ElectraBackbone(vb.pp("electra"), config: c)
        let pred = vb.pp("generator_predictions")
        dense = try pred.linear("dense", in: c.hiddenSize, out: c.embeddingSize)
        layerNorm = try pred.layerNorm("LayerNorm", size: c.embeddingSize, eps: c.layerNormEps)
        let headVB = vb.pp("generator_lm_head")
        let weight: Parameter
        if c.tieWordEmbeddings {
            weight = backbone.embeddings.word
            headVB.tie("weight", to: weight)
        } else {
            weight = try headVB.parameter("weight", shape: [c.vocabSize, c.embeddingSize], role: .linearWeight)
        }
        let bias = try headVB.parameter("bias", shape: [c.vocabSize], role: .bias)
        lmHead = Linear(weight: weight, bias: bias, inFeatures: c.embeddingSize, outFeatures: c.vocabSize)
        parameters = vb.table
    }

    /// logits [B, L, vocab]; loss = cross-entropy with -100 ignored.
    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        let labels = try inputs.tokenLabels()
        return try backbone.forward(batch, options: options) { h, extras in
            let n = batch.tokens, E = config.embeddingSize, V = config.vocabSize
            let hidden = Tensor(zeros: [n, E])
            dense.forward(hidden.pointer, h, rows: n)
            Activation.gelu.forward(hidden.pointer, rows: n, columns: E)
            layerNorm.forward(hidden.pointer, hidden.pointer, rows: n)
            let logits = Tensor(zeros: [batch.batch, batch.length, V])
            lmHead.forward(logits.pointer, hidden.pointer, rows: n)
            var out = ElectraOutput()
            out.logits = logits
            if let labels {
                out.loss = try Losses.crossEntropy(logits: logits.pointer, rows: n, classes: V, labels: labels.values)
            }
            out.attach(extras, options)
            return out
        }
    }
}
