import ElectraKernels

/// What a training forward pass keeps for the backward pass. Allocated for a capacity and
/// reused by every later step whose shape fits (dynamic padding changes B and L from step to
/// step; buffers are addressed by pointer and the current shape). N = B*L tokens.
final class TrainingTape {
    private(set) var tokens: Int
    private(set) var shape: AttentionShape
    let capacity: AttentionShape
    let embeddingOut: Tensor        // [N, E] embedding LayerNorm output (input of embeddings_project)
    let embeddingMean, embeddingRstd: Tensor  // [N]
    let hidden: [Tensor]            // layers + 1 x [N, H]: hidden[0] embeddings (projected), hidden[i+1] layer i
    let layers: [LayerActivations]
    let grads: LayerGradients
    let dHidden: [Tensor]           // 2 x [N, H] ping-pong
    let dEmbedding: Tensor          // [N, E]
    let embeddingScratch: Tensor    // [N, E]
    let attentionScratch: Tensor    // [threads, scratchPerThread]
    let embeddingDropout: Tensor    // [N, E] mask
    var embeddingDropoutActive = false
    var batch: TokenBatch?

    init(config c: ElectraConfig, tokens n: Int, shape s: AttentionShape) {
        tokens = n
        shape = s
        capacity = s
        let E = c.embeddingSize, H = c.hiddenSize
        hidden = (0...c.numHiddenLayers).map { _ in Tensor(zeros: [n, H]) }
        embeddingOut = E == H ? hidden[0] : Tensor(zeros: [n, E])
        embeddingMean = Tensor(zeros: [n]); embeddingRstd = Tensor(zeros: [n])
        layers = (0..<c.numHiddenLayers).map { _ in
            LayerActivations(tokens: n, hidden: H, intermediateSize: c.intermediateSize,
                             probsCount: s.batch * s.heads * s.length * s.length, training: true)
        }
        grads = LayerGradients(tokens: n, hidden: H, intermediateSize: c.intermediateSize, shape: s)
        dHidden = [Tensor(zeros: [n, H]), Tensor(zeros: [n, H])]
        dEmbedding = Tensor(zeros: [n, E])
        embeddingScratch = Tensor(zeros: [n, E])
        attentionScratch = Tensor(zeros: [Parallel.threads, s.scratchPerThread])
        embeddingDropout = Tensor(zeros: [n, E])
    }

    /// Whether buffers sized for `capacity` hold shape `s`.
    func fits(_ s: AttentionShape) -> Bool {
        let c = capacity
        return s.batch * s.length <= c.batch * c.length
            && s.batch * s.length * s.length <= c.batch * c.length * c.length
            && s.scratchPerThread <= c.scratchPerThread && s.backwardScratchPerThread <= c.backwardScratchPerThread
            && grads.scratch.shape[0] == Parallel.threads
    }

    func use(_ s: AttentionShape) {
        shape = s
        tokens = s.batch * s.length
    }

    /// [N, H] the gradient of the last hidden state: zeroed by `zeroSequenceGradient()`,
    /// written by the head, consumed by `ElectraBackbone.backward`.
    var dSequence: Tensor { Tensor(shape: [tokens, dHidden[0].shape[1]], storage: dHidden[0].storage) }

    /// The last layer's output [N, H] for the current shape.
    var output: Tensor {
        let h = hidden[hidden.count - 1]
        return Tensor(shape: [tokens, h.shape[1]], storage: h.storage)
    }
}

extension ElectraBackbone {
    /// The forward pass (`run`) keeping every activation the backward pass needs. With
    /// `dropout`, HF's dropouts apply; without it the pass is deterministic (gradient checks).
    /// The tape is kept by the backbone and reused while shapes fit (training is single-caller).
    func trainingForward(_ batch: TokenBatch, dropout: DropoutContext? = nil) -> TrainingTape {
        let c = config
        let shape = AttentionShape(batch: batch.batch, length: batch.length, heads: c.numAttentionHeads, headDim: c.headDim)
        let tape = (trainingTape?.fits(shape) == true) ? trainingTape! : TrainingTape(config: c, tokens: batch.tokens, shape: shape)
        trainingTape = tape
        tape.use(shape)
        tape.batch = batch
        let pass = EncoderPass(
            embedded: tape.embeddingOut.pointer, embeddingMean: tape.embeddingMean.pointer,
            embeddingRstd: tape.embeddingRstd.pointer, embeddingDropout: tape.embeddingDropout.pointer,
            hidden: { tape.hidden[$0].pointer }, acts: { tape.layers[$0] },
            probs: { tape.layers[$0].probs.pointer }, scratch: tape.attentionScratch)
        tape.embeddingDropoutActive = run(batch, shape: shape, pass, dropout: dropout)
        return tape
    }

    /// Backward through the encoder and embeddings, from the gradient of the last hidden
    /// state that the head wrote into `tape.dSequence`. Parameter gradients are accumulated.
    func backward(_ tape: TrainingTape) {
        let batch = tape.batch!
        let n = tape.tokens
        var cur = 0
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            layers[i].backward(dOut: tape.dHidden[cur].pointer, dInput: tape.dHidden[1 - cur].pointer,
                               x: tape.hidden[i].pointer, acts: tape.layers[i], grads: tape.grads, shape: tape.shape)
            layerBackwardDone?(i)
            cur = 1 - cur
        }
        var dEmb = tape.dHidden[cur].pointer
        if let proj = embeddingsProject {
            proj.backward(dx: tape.dEmbedding.pointer, dy: dEmb, x: tape.embeddingOut.pointer, rows: n)
            dEmb = tape.dEmbedding.pointer
        }
        if tape.embeddingDropoutActive {
            multiplyInPlace(dEmb, tape.embeddingDropout.pointer, count: n * config.embeddingSize)
        }
        embeddings.backward(dOut: dEmb, batch, mean: tape.embeddingMean.pointer, rstd: tape.embeddingRstd.pointer,
                            paddingIndex: config.padTokenId, scratch: tape.embeddingScratch.pointer)
    }
}
