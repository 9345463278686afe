import ElectraKernels

/// HF `ElectraForMaskedLM` (the generator): generator_predictions.dense (H->E), gelu,
/// generator_predictions.LayerNorm (E), generator_lm_head (E->vocab) whose weight is the word
/// embedding matrix when tie_word_embeddings (the default) and whose bias is its own.
public final class ElectraForMaskedLM: ElectraHeadModel, ElectraTrainable, HeadPass {
    public static let architecture = "ElectraForMaskedLM"
    public let config: ElectraConfig
    public let backbone: ElectraBackbone
    public let parameters: ParameterTable
    public let dense: Linear
    public let layerNorm: LayerNormWeights
    public let lmHead: Linear
    /// The masked-position training pass's buffers, reused across steps (PretrainingPasses.swift).
    let scratch = ScratchTensors()

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
        try inferencePass(inputs, options: options)
    }

    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        try trainingPass(inputs, dropout: dropout)
    }

    /// [N, E] x 3, mean/rstd [N], d loss / d logits [N, V].
    struct Activations {
        let pre, act, normed, mean, rstd, dLogits: Tensor
        func with(dLogits d: Tensor) -> Activations {
            Activations(pre: pre, act: act, normed: normed, mean: mean, rstd: rstd, dLogits: d)
        }
    }
    static let flattensChoices = false
    static let trainingLabels = "integer labels shaped like input_ids (-100 = ignore)"

    /// h [N, H] -> dense (H->E) -> gelu -> LayerNorm -> lm head (E->V) -> logits [B, L, V].
    func headForward(_ h: Tensor, _ batch: TokenBatch, _ inputs: ElectraInputs, training: HeadTraining?)
        throws -> (ElectraOutput, Activations?) {
        let labels = try inputs.tokenLabels()
        let n = batch.tokens, V = config.vocabSize
        let (flat, acts) = predictions(h.pointer, rows: n, keep: training != nil)
        let logits = Tensor(shape: [batch.batch, batch.length, V], storage: flat.storage)
        let dLogits = lossGradient([n, V], training)
        var out = ElectraOutput(loss: nil, logits: logits)
        if let labels {
            out.loss = try Losses.crossEntropy(logits: logits.pointer, rows: n, classes: V, labels: labels.values, grad: dLogits?.pointer)
        }
        return (out, dLogits.map { acts.with(dLogits: $0) })
    }

    func headBackward(_ a: Activations, h: Tensor, dH: Tensor, _ batch: TokenBatch) {
        predictionsBackward(a, h: h.pointer, dH: dH.pointer, rows: batch.tokens)
    }

    /// The prediction layers over `rows` rows of h [rows, H] -> logits [rows, V]; with `keep`
    /// the activations for `predictionsBackward` (dLogits still to be filled).
    /// With `scratch`, every buffer (logits included) is a reused one (slots 0-5).
    func predictions(_ h: UnsafePointer<Float>, rows n: Int, keep: Bool, scratch: ScratchTensors? = nil)
        -> (logits: Tensor, acts: Activations) {
        let E = config.embeddingSize, V = config.vocabSize
        func buffer(_ slot: Int, _ shape: [Int]) -> Tensor { scratch?.tensor(slot, shape) ?? Tensor(zeros: shape) }
        let pre = buffer(0, [n, E]), normed = buffer(1, [n, E])
        let mean = buffer(2, [n]), rstd = buffer(3, [n])
        dense.forward(pre.pointer, h, rows: n)
        let act: Tensor
        if keep {
            act = buffer(4, [n, E])
            act.pointer.update(from: pre.pointer, count: n * E)
            Activation.gelu.forward(act.pointer, rows: n, columns: E)
        } else {
            act = activated(.gelu, pre, keep: false)
        }
        layerNorm.forward(normed.pointer, act.pointer, rows: n, mean: mean.pointer, rstd: rstd.pointer)
        let logits = buffer(5, [n, V])
        lmHead.forward(logits.pointer, normed.pointer, rows: n)
        return (logits, Activations(pre: pre, act: act, normed: normed, mean: mean, rstd: rstd, dLogits: logits))
    }

    /// d loss / d h [rows, H] (overwritten) from `a.dLogits` [rows, V]; head gradients accumulated.
    func predictionsBackward(_ a: Activations, h: UnsafePointer<Float>, dH: UnsafeMutablePointer<Float>, rows n: Int,
                             scratch: ScratchTensors? = nil) {
        let E = config.embeddingSize
        let dNormed = scratch?.tensor(6, [n, E]) ?? Tensor(zeros: [n, E]), dAct = scratch?.tensor(7, [n, E]) ?? Tensor(zeros: [n, E])
        // The tied weight's gradient lands in the word-embedding Parameter's buffer.
        lmHead.backward(dx: dNormed.pointer, dy: a.dLogits.pointer, x: a.normed.pointer, rows: n)
        layerNorm.backward(dx: dAct.pointer, dy: dNormed.pointer, input: a.act.pointer, residual: nil,
                           mean: a.mean.pointer, rstd: a.rstd.pointer, rows: n)
        Activation.gelu.backward(dx: dAct.pointer, dy: dAct.pointer, pre: a.pre.pointer, count: n * E)
        dense.backward(dx: dH, dy: dAct.pointer, x: h, rows: n)
    }
}
