import ElectraKernels

/// One BERT post-LN layer, HF names under `encoder.layer.{i}`:
/// attention.self.{query,key,value}, attention.output.{dense,LayerNorm},
/// intermediate.dense, output.{dense,LayerNorm} (+ attention.self.distance_embedding).
public struct EncoderLayer: Sendable {
    public let query, key, value, attentionOutput: Linear
    /// query | key | value as one [3H, H] product; the three are views of its weight.
    let qkv: Linear
    public let attentionLayerNorm: LayerNormWeights
    public let intermediate, output: Linear
    public let outputLayerNorm: LayerNormWeights
    public let distanceEmbedding: Parameter?
    let activation: Activation
    let heads: Int
    let keyQuery: Bool

    init(_ vb: ParameterBuilder, _ c: ElectraConfig) throws {
        let H = c.hiddenSize, I = c.intermediateSize
        let selfAttn = vb.pp("attention").pp("self")
        query = try selfAttn.linear("query", in: H, out: H)
        key = try selfAttn.linear("key", in: H, out: H)
        value = try selfAttn.linear("value", in: H, out: H)
        qkv = Linear.concatenating([query, key, value])
        if c.positionEmbeddingType != .absolute {
            distanceEmbedding = try selfAttn.pp("distance_embedding").parameter(
                "weight", shape: [2 * c.maxPositionEmbeddings - 1, c.headDim], role: .embedding)
        } else {
            distanceEmbedding = nil
        }
        attentionOutput = try vb.pp("attention").pp("output").linear("dense", in: H, out: H)
        attentionLayerNorm = try vb.pp("attention").pp("output").layerNorm("LayerNorm", size: H, eps: c.layerNormEps)
        intermediate = try vb.pp("intermediate").linear("dense", in: H, out: I)
        output = try vb.pp("output").linear("dense", in: I, out: H)
        outputLayerNorm = try vb.pp("output").layerNorm("LayerNorm", size: H, eps: c.layerNormEps)
        activation = c.hiddenAct
        heads = c.numAttentionHeads
        keyQuery = c.positionEmbeddingType == .relativeKeyQuery
    }

    /// The distance table view attention needs (relative position types only).
    var relativePositions: RelativePositions? {
        distanceEmbedding.map {
            RelativePositions(table: $0.pointer, maxPositions: ($0.shape[0] + 1) / 2, keyQuery: keyQuery)
        }
    }

    /// x: [N, H] -> out: [N, H] (N = B*L). `acts` receives every intermediate the backward
    /// pass needs; in inference one `LayerActivations` is reused for all layers.
    /// probs: [B, nh, L, L] attention probabilities are written there when given.
    func forward(
        _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        acts a: LayerActivations, maskBias: UnsafePointer<Float>, shape s: AttentionShape,
        probs: UnsafeMutablePointer<Float>?, scratch: Tensor, dropout: DropoutRates? = nil
    ) {
        let n = s.tokens
        // The rates are kept so that backward knows which masks this step drew.
        a.hiddenDropout = dropout?.hidden ?? 0
        a.attentionDropoutRate = dropout?.attention ?? 0
        if let d = dropout, d.attention > 0 {
            d.context.fillMask(a.probsMask.pointer, count: s.batch * s.heads * s.length * s.length, p: d.attention)
        }
        // a.qkv: [N, 3H], q | k | v per row, one product (X packed once, a wider N).
        let H = s.hidden
        qkv.forward(a.qkv.pointer, x, rows: n)
        attentionForward(q: a.q, k: a.k, v: a.v, ldqkv: 3 * H, ctx: a.context.pointer,
                         probs: probs, maskBias: maskBias, shape: s,
                         relative: relativePositions, scratch: scratch.pointer, scratchRows: scratch.shape[0],
                         probsDropout: a.attentionDropoutRate > 0 ? UnsafePointer(a.probsMask.pointer) : nil)
        // attention.output: dense -> (dropout) -> LayerNorm(dense + x)
        attentionOutput.forward(a.attentionDense.pointer, a.context.pointer, rows: n)
        if let d = dropout, d.hidden > 0 {
            d.context.fillMask(a.attentionDropout.pointer, count: n * s.hidden, p: d.hidden)
            multiplyInPlace(a.attentionDense.pointer, a.attentionDropout.pointer, count: n * s.hidden)
        }
        attentionLayerNorm.forward(a.attentionOut.pointer, a.attentionDense.pointer, residual: x,
                                   rows: n, mean: a.attentionMean.pointer, rstd: a.attentionRstd.pointer)
        // intermediate: dense -> activation (pre-activation kept when training)
        intermediate.forward(a.intermediate.pointer, a.attentionOut.pointer, rows: n)
        // output: dense -> (dropout) -> LayerNorm(dense + attentionOut). In bf16 inference the
        // activation goes straight into the product's bf16 input.
        if a.keepsPreActivation || !output.forward(a.outputDense.pointer, activating: a.intermediate.pointer, activation, rows: n) {
            let actOut = a.keepsPreActivation ? a.intermediateAct.pointer : a.intermediate.pointer
            if a.keepsPreActivation { actOut.update(from: a.intermediate.pointer, count: n * intermediate.outFeatures) }
            activation.forward(actOut, rows: n, columns: intermediate.outFeatures)
            output.forward(a.outputDense.pointer, actOut, rows: n)
        }
        if let d = dropout, d.hidden > 0 {
            d.context.fillMask(a.outputDropout.pointer, count: n * s.hidden, p: d.hidden)
            multiplyInPlace(a.outputDense.pointer, a.outputDropout.pointer, count: n * s.hidden)
        }
        outputLayerNorm.forward(out, a.outputDense.pointer, residual: a.attentionOut.pointer,
                                rows: n, mean: a.outputMean.pointer, rstd: a.outputRstd.pointer)
    }
}

/// Dropout probabilities of one training step and the generator of its masks.
public struct DropoutRates {
    public var hidden: Float
    public var attention: Float
    public var context: DropoutContext
    public init(hidden: Float, attention: Float, context: DropoutContext) {
        self.hidden = hidden
        self.attention = attention
        self.context = context
    }
}

/// Gradient buffers shared by every layer's backward pass (N = B*L tokens).
final class LayerGradients {
    let dSum, dAttentionOut, dContext, dQ, dK, dV: Tensor  // [N, H]
    let dIntermediate: Tensor                             // [N, I]
    let scratch: Tensor                                   // [threads, backwardScratchPerThread]

    init(tokens n: Int, hidden: Int, intermediateSize: Int, shape: AttentionShape) {
        dSum = Tensor(zeros: [n, hidden]); dAttentionOut = Tensor(zeros: [n, hidden])
        dContext = Tensor(zeros: [n, hidden])
        dQ = Tensor(zeros: [n, hidden]); dK = Tensor(zeros: [n, hidden]); dV = Tensor(zeros: [n, hidden])
        dIntermediate = Tensor(zeros: [n, intermediateSize])
        scratch = Tensor(zeros: [Parallel.threads, shape.backwardScratchPerThread])
    }
}

extension EncoderLayer {
    /// Backward of `forward` (through the dropout masks that step drew). dOut: [N, H] gradient of the layer output;
    /// dInput: [N, H] receives the gradient of the layer input x (may not alias dOut).
    /// Parameter gradients are accumulated.
    func backward(
        dOut: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
        acts a: LayerActivations, grads g: LayerGradients, shape s: AttentionShape
    ) {
        let n = s.batch * s.length, H = s.hidden
        // output.LayerNorm(outputDense + attentionOut)
        outputLayerNorm.backward(dx: g.dAttentionOut.pointer, dy: dOut, input: a.outputDense.pointer,
                                 residual: a.attentionOut.pointer, mean: a.outputMean.pointer, rstd: a.outputRstd.pointer, rows: n)
        // output.dense (through its dropout), activation, intermediate.dense (its input grad
        // adds to the residual's)
        var dDense = UnsafePointer(g.dAttentionOut.pointer)
        if a.hiddenDropout > 0 {
            g.dSum.pointer.update(from: g.dAttentionOut.pointer, count: n * H)
            multiplyInPlace(g.dSum.pointer, a.outputDropout.pointer, count: n * H)
            dDense = UnsafePointer(g.dSum.pointer)
        }
        output.backward(dx: g.dIntermediate.pointer, dy: dDense, x: a.intermediateAct.pointer, rows: n)
        activation.backward(dx: g.dIntermediate.pointer, dy: g.dIntermediate.pointer, pre: a.intermediate.pointer,
                            count: n * intermediate.outFeatures)
        intermediate.backward(dx: g.dAttentionOut.pointer, accumulate: true, dy: g.dIntermediate.pointer,
                              x: a.attentionOut.pointer, rows: n)
        // attention.output.LayerNorm(attentionDense + x), attention.output.dense
        attentionLayerNorm.backward(dx: g.dSum.pointer, dy: g.dAttentionOut.pointer, input: a.attentionDense.pointer,
                                    residual: x, mean: a.attentionMean.pointer, rstd: a.attentionRstd.pointer, rows: n)
        var dAttnDense = UnsafePointer(g.dSum.pointer)
        if a.hiddenDropout > 0 {
            g.dQ.pointer.update(from: g.dSum.pointer, count: n * H)  // dQ is free until attentionBackward
            multiplyInPlace(g.dQ.pointer, a.attentionDropout.pointer, count: n * H)
            dAttnDense = UnsafePointer(g.dQ.pointer)
        }
        attentionOutput.backward(dx: g.dContext.pointer, dy: dAttnDense, x: a.context.pointer, rows: n)
        attentionBackward(q: a.q, k: a.k, v: a.v, ldqkv: 3 * H, probs: a.probs.pointer,
                          dContext: g.dContext.pointer, dQ: g.dQ.pointer, dK: g.dK.pointer, dV: g.dV.pointer,
                          shape: s, relative: relativePositions, dTable: distanceEmbedding?.gradPointer, scratch: g.scratch.pointer, scratchRows: g.scratch.shape[0],
                          probsDropout: a.attentionDropoutRate > 0 ? UnsafePointer(a.probsMask.pointer) : nil)
        // x feeds the residual and the three projections.
        dInput.update(from: g.dSum.pointer, count: n * H)
        query.backward(dx: dInput, accumulate: true, dy: g.dQ.pointer, x: x, rows: n)
        key.backward(dx: dInput, accumulate: true, dy: g.dK.pointer, x: x, rows: n)
        value.backward(dx: dInput, accumulate: true, dy: g.dV.pointer, x: x, rows: n)
    }
}

/// The activations of one encoder layer for N = B*L tokens (shapes in comments).
final class LayerActivations {
    let qkv: Tensor                       // [N, 3H]: q | k | v per row
    let context: Tensor                   // [N, H]
    let attentionDense, attentionOut: Tensor  // [N, H]
    let attentionMean, attentionRstd: Tensor  // [N]
    let intermediate: Tensor              // [N, I] (pre-activation when training)
    let intermediateAct: Tensor           // [N, I] when training, else empty
    let outputDense: Tensor               // [N, H]
    let outputMean, outputRstd: Tensor    // [N]
    let probs: Tensor                     // [B, nh, L, L] when kept, else empty
    let keepsPreActivation: Bool
    // Dropout masks (training): 0 or 1/(1-p).
    let probsMask: Tensor                 // [B, nh, L, L]
    let attentionDropout, outputDropout: Tensor  // [N, H]
    var hiddenDropout: Float = 0
    var attentionDropoutRate: Float = 0

    init(tokens n: Int, hidden: Int, intermediateSize: Int, probsCount: Int, training: Bool) {
        qkv = Tensor(zeros: [n, 3 * hidden])
        context = Tensor(zeros: [n, hidden])
        attentionDense = Tensor(zeros: [n, hidden]); attentionOut = Tensor(zeros: [n, hidden])
        attentionMean = Tensor(zeros: [n]); attentionRstd = Tensor(zeros: [n])
        intermediate = Tensor(zeros: [n, intermediateSize])
        intermediateAct = Tensor(zeros: [training ? n : 0, intermediateSize])
        outputDense = Tensor(zeros: [n, hidden])
        outputMean = Tensor(zeros: [n]); outputRstd = Tensor(zeros: [n])
        probs = Tensor(zeros: [probsCount])
        keepsPreActivation = training
        probsMask = Tensor(zeros: [training ? probsCount : 0])
        attentionDropout = Tensor(zeros: [training ? n : 0, hidden])
        outputDropout = Tensor(zeros: [training ? n : 0, hidden])
    }

    var q: UnsafeMutablePointer<Float> { qkv.pointer }
    var k: UnsafeMutablePointer<Float> { qkv.pointer + qkv.shape[1] / 3 }
    var v: UnsafeMutablePointer<Float> { qkv.pointer + 2 * qkv.shape[1] / 3 }
}
