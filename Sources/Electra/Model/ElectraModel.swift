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

    public init(_ vb: ParameterBuilder, config c: ElectraConfig) throws {
        config = c
        embeddings = try Embeddings(vb.pp("embeddings"), c)
        embeddingsProject = c.embeddingSize != c.hiddenSize
            ? try vb.linear("embeddings_project", in: c.embeddingSize, out: c.hiddenSize) : nil
        let encoder = vb.pp("encoder").pp("layer")
        layers = try (0..<c.numHiddenLayers).map { try EncoderLayer(encoder.pp($0), c) }
    }

    /// Runs the backbone; `body` sees the final hidden states [N, H] (valid only inside).
    func forward<R>(
        _ batch: TokenBatch, options: ForwardOptions,
        _ body: (UnsafeMutablePointer<Float>, BackboneExtras) throws -> R
    ) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        let c = config
        let n = batch.tokens, H = c.hiddenSize
        let shape = AttentionShape(batch: batch.batch, length: batch.length, heads: c.numAttentionHeads, headDim: c.headDim)
        if workspace == nil || !workspace!.fits(tokens: n, shape: shape) {
            workspace = InferenceWorkspace(config: c, tokens: n, shape: shape)
        }
        let ws = workspace!
        var extras = BackboneExtras()
        let hs: [Tensor] = options.outputHiddenStates
            ? (0...c.numHiddenLayers).map { _ in Tensor(zeros: [batch.batch, batch.length, H]) } : []

        // Embeddings, then the projection to H when E != H.
        let first = hs.first?.pointer ?? ws.hidden[0].pointer
        let embOut = embeddingsProject == nil ? first : ws.embedded.pointer
        embeddings.forward(embOut, batch)
        embeddingsProject?.forward(first, embOut, rows: n)
        var x = first
        batch.maskBias.withUnsafeBufferPointer { bias in
            for (i, layer) in layers.enumerated() {
                let out = hs.isEmpty ? ws.hidden[(i + 1) % 2].pointer : hs[i + 1].pointer
                var probs: UnsafeMutablePointer<Float>? = nil
                if options.outputAttentions {
                    let a = Tensor(zeros: [batch.batch, c.numAttentionHeads, batch.length, batch.length])
                    extras.attentions.append(a)
                    probs = a.pointer
                }
                layer.forward(x, out, acts: ws.acts, maskBias: bias.baseAddress!, shape: shape,
                              probs: probs, scratch: ws.scratch)
                x = out
            }
        }
        extras.hiddenStates = hs
        return try body(x, extras)
    }

    /// HF `ElectraModel.forward`: last_hidden_state [B, L, H] (+ hidden states, attentions).
    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions = .init()) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        return forward(batch, options: options) { h, extras in
            let last = Tensor(zeros: [batch.batch, batch.length, config.hiddenSize])
            last.pointer.update(from: h, count: last.count)
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
