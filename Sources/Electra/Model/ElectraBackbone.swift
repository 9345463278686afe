import ElectraKernels
import Foundation

/// What a forward pass should return besides logits.
public struct ForwardOptions: Sendable {
    public var outputHiddenStates = false
    public var outputAttentions = false
    public init(outputHiddenStates: Bool = false, outputAttentions: Bool = false) {
        self.outputHiddenStates = outputHiddenStates
        self.outputAttentions = outputAttentions
    }
}

/// HF `ElectraModel`: embeddings (+ embeddings_project when E != H) and the encoder.
/// No pooler. Parameter names are relative to the model (`embeddings.*`, `encoder.layer.*`);
/// head classes register them under `electra.`.
public final class ElectraBackbone: @unchecked Sendable {
    public let config: ElectraConfig
    public let embeddings: Embeddings
    public let embeddingsProject: Linear?
    public let layers: [EncoderLayer]
    /// Serialises inference forwards (one workspace) and layout changes against them.
    let lock = NSLock()
    private var workspace: InferenceWorkspace?
    /// Activations of the last training step (BackboneTraining.swift).
    var trainingTape: TrainingTape?
    /// The number format of the encoder's products in inference (Quantization.swift).
    public internal(set) var inferenceDType: InferenceDType = .fp32
    /// Called in training's backward with layer i as soon as its parameter gradients are
    /// added (top layer first), so data-parallel training can sum them over the ranks while
    /// the layers below are still in backward (GradientReducer).
    public var layerBackwardDone: ((Int) -> Void)?

    public init(_ vb: ParameterBuilder, config c: ElectraConfig) throws {
        config = c
        embeddings = try Embeddings(vb.pp("embeddings"), c)
        embeddingsProject = c.embeddingSize != c.hiddenSize
            ? try vb.linear("embeddings_project", in: c.embeddingSize, out: c.hiddenSize) : nil
        let encoder = vb.pp("encoder").pp("layer")
        layers = try (0..<c.numHiddenLayers).map { try EncoderLayer(encoder.pp($0), c) }
    }

    /// Inference: runs the backbone; `body` sees the final hidden states [N, H] (a view of
    /// a reused buffer, valid only inside). Dropout is off.
    func forward<R>(
        _ batch: TokenBatch, options: ForwardOptions,
        _ body: (Tensor, BackboneExtras) throws -> R
    ) throws -> R {
        let c = config
        let n = batch.tokens, H = c.hiddenSize
        let shape: AttentionShape
        if let seg = batch.segments {
            guard !options.outputAttentions else { throw ElectraError("packed sequences (sequenceLengths) give no attentions; pad them to ask for attentions") }
            let longest = zip(seg.dropFirst(), seg).map { $0 - $1 }.max()!
            shape = AttentionShape(batch: seg.count - 1, length: longest, heads: c.numAttentionHeads, headDim: c.headDim, segments: seg)
        } else {
            shape = AttentionShape(batch: batch.batch, length: batch.length, heads: c.numAttentionHeads, headDim: c.headDim)
        }
        lock.lock()
        defer { lock.unlock() }
        if workspace == nil || !workspace!.fits(tokens: n, shape: shape) {
            // Grow to the larger of the old and new needs: packed batches decouple the token
            // count from the longest sequence, and alternating shapes must not reallocate each time.
            // (The old buffers are released before the new ones are made.)
            let tokens = max(n, workspace?.tokens ?? 0)
            let keep = workspace.map { $0.shape.scratchPerThread > shape.scratchPerThread ? $0.shape : shape } ?? shape
            workspace = nil
            workspace = InferenceWorkspace(config: c, tokens: tokens, shape: keep)
        }
        let ws = workspace!
        var extras = BackboneExtras()
        extras.hiddenStates = options.outputHiddenStates
            ? (0...c.numHiddenLayers).map { _ in Tensor(zeros: [batch.batch, batch.length, H]) } : []
        if options.outputAttentions {
            extras.attentions = layers.map { _ in Tensor(zeros: [batch.batch, c.numAttentionHeads, batch.length, batch.length]) }
        }
        let hs = extras.hiddenStates
        // Without hidden states requested, layers ping-pong between two buffers.
        let hidden = { (i: Int) -> Tensor in hs.isEmpty ? ws.hidden[i % 2] : hs[i] }
        let pass = EncoderPass(
            embedded: ws.embedded.pointer, embeddingMean: nil, embeddingRstd: nil, embeddingDropout: nil,
            hidden: { hidden($0).pointer }, acts: { _ in ws.acts },
            probs: { options.outputAttentions ? extras.attentions[$0].pointer : nil }, scratch: ws.scratch)
        run(batch, shape: shape, pass, dropout: nil)
        let last = hidden(c.numHiddenLayers)
        return try body(Tensor(shape: [n, H], storage: last.storage, offset: last.offset), extras)
    }

    /// The one pass through embeddings and layers, for inference and training alike; `pass`
    /// says where each activation goes (InferenceWorkspace: two ping-pong hidden buffers and
    /// one layer's activations; TrainingTape: every layer's). With `dropout`, HF's dropouts
    /// apply (embeddings, attention probabilities, both residual branches), masks drawn in
    /// that order per layer. Returns whether the embedding dropout was applied.
    @discardableResult
    func run(_ batch: TokenBatch, shape: AttentionShape, _ pass: EncoderPass, dropout: DropoutContext?) -> Bool {
        let c = config, n = batch.tokens
        // Embeddings of width E; without a projection (E == H) they are hidden state 0.
        let embedded = embeddingsProject == nil ? pass.hidden(0) : pass.embedded
        embeddings.forward(embedded, batch, mean: pass.embeddingMean, rstd: pass.embeddingRstd)
        let rates = dropout.map { DropoutRates(hidden: c.hiddenDropoutProb, attention: c.attentionProbsDropoutProb, context: $0) }
        var embeddingDropped = false
        if let r = rates, r.hidden > 0, let mask = pass.embeddingDropout {
            r.context.fillMask(mask, count: n * c.embeddingSize, p: r.hidden)
            multiplyInPlace(embedded, mask, count: n * c.embeddingSize)
            embeddingDropped = true
        }
        embeddingsProject?.forward(pass.hidden(0), embedded, rows: n)
        batch.maskBias.withUnsafeBufferPointer { bias in
            for (i, layer) in layers.enumerated() {
                layer.forward(pass.hidden(i), pass.hidden(i + 1), acts: pass.acts(i), maskBias: bias.baseAddress!,
                              shape: shape, probs: pass.probs(i), scratch: pass.scratch, dropout: rates)
            }
        }
        return embeddingDropped
    }

    /// HF `ElectraModel.forward`: last_hidden_state [B, L, H] (+ hidden states, attentions).
    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions = .init()) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        return try forward(batch, options: options) { h, extras in
            let last = h.copy().reshaped([batch.batch, batch.length, config.hiddenSize])
            var out = ElectraOutput()
            out.lastHiddenState = last
            out.attach(extras, options)
            return out
        }
    }
}

/// Hidden states / attentions gathered during a backbone pass.
struct BackboneExtras {
    var hiddenStates: [Tensor] = []
    var attentions: [Tensor] = []
}

/// Where one backbone pass reads and writes (N = B*L tokens).
struct EncoderPass {
    /// [N, E] embedding LayerNorm output when embeddings_project exists (else hidden(0) is used).
    let embedded: UnsafeMutablePointer<Float>
    /// [N] each, kept for the backward pass (training).
    let embeddingMean, embeddingRstd: UnsafeMutablePointer<Float>?
    /// [N, E] the embedding dropout mask (training).
    let embeddingDropout: UnsafeMutablePointer<Float>?
    /// [N, H]: hidden(0) the (projected) embeddings, hidden(i + 1) layer i's output.
    let hidden: (Int) -> UnsafeMutablePointer<Float>
    /// Layer i's activations.
    let acts: (Int) -> LayerActivations
    /// [B, nh, L, L] where layer i's attention probabilities go, if kept.
    let probs: (Int) -> UnsafeMutablePointer<Float>?
    /// [threads, scratchPerThread] attention scratch.
    let scratch: Tensor
}

/// Buffers reused across layers and calls (inference): one layer's activations, two
/// ping-pong hidden buffers, the attention scratch.
final class InferenceWorkspace {
    let tokens: Int
    let shape: AttentionShape
    let embedded: Tensor      // [N, E]
    let hidden: [Tensor]      // 2 x [N, H]
    let acts: LayerActivations
    let scratch: Tensor       // [threads, scratchPerThread]
    let threads: Int

    init(config c: ElectraConfig, tokens n: Int, shape: AttentionShape) {
        tokens = n
        self.shape = shape
        threads = Parallel.threads
        embedded = Tensor(zeros: [n, c.embeddingSize])
        hidden = [Tensor(zeros: [n, c.hiddenSize]), Tensor(zeros: [n, c.hiddenSize])]
        acts = LayerActivations(tokens: n, hidden: c.hiddenSize, intermediateSize: c.intermediateSize,
                                probsCount: 0, training: false)
        scratch = Tensor(zeros: [threads, shape.scratchPerThread])
    }

    /// Buffers are reused for any shape that fits the capacity they were made for.
    func fits(tokens n: Int, shape s: AttentionShape) -> Bool {
        n <= tokens && s.scratchPerThread <= shape.scratchPerThread && threads == Parallel.threads
    }
}
