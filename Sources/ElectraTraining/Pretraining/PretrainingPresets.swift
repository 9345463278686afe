import Electra
import Foundation

/// Model shapes and recipe defaults for `electra pretrain`: the paper's small, base and large
/// (ELECTRA-NOTES.md), and two shapes for CPU experiments and tests: mini (4 layers, hidden
/// 256, 4 heads, FFN 1024, embeddings 128) and tiny (2 layers, hidden 128, 2 heads, FFN 512).
///
/// The CPU shapes sample replacements at temperature 1.5, not the paper's 1: measured on
/// mini (docs/pretraining.md), at temperature 1 the discriminator's outputs collapse to the
/// replaced share within a few hundred steps, once the generator samples frequent words, and
/// two hours of CPU were not enough to leave that state (PyTorch did the same); at 1.5 the
/// replacements stay detectable and the discriminator keeps learning.
public struct PretrainingPreset: Sendable {
    public let name: String
    public let discriminator: ElectraConfig
    /// The generator's hidden size as a share of the discriminator's.
    public let generatorSize: Double
    public let learningRate: Float
    public let maskProbability: Double
    /// The generator's sampling temperature.
    public let temperature: Float
    /// Dropout of both models during pretraining (hidden and attention).
    public var dropout: Float = 0.1
    public var positionInitialization: PositionInitialization = .normal
    /// Optimizer steps of sequence length warmup (0: whole examples from the start).
    public var sequenceLengthWarmupSteps = 0

    public static let names = ["tiny", "mini", "small", "base", "large"]

    public static func named(_ name: String, vocabSize: Int = 30522) throws -> PretrainingPreset {
        var c = ElectraConfig()
        c.vocabSize = vocabSize
        c.architectures = [ElectraForPreTraining.architecture]
        var gen = 0.25, lr: Float = 5e-4, mask = 0.15, temperature: Float = 1
        func shape(_ e: Int, _ h: Int, _ layers: Int, _ heads: Int, _ ffn: Int) {
            c.embeddingSize = e; c.hiddenSize = h; c.numHiddenLayers = layers; c.numAttentionHeads = heads; c.intermediateSize = ffn
        }
        switch name {
        case "tiny": shape(128, 128, 2, 2, 512); lr = 1e-3; temperature = 1.5
        case "mini": shape(128, 256, 4, 4, 1024); lr = 1e-3; temperature = 1.5
        case "small": shape(128, 256, 12, 4, 1024)
        case "base": shape(768, 768, 12, 12, 3072); gen = 1.0 / 3; lr = 2e-4
        case "large": shape(1024, 1024, 24, 16, 4096); lr = 2e-4; mask = 0.25
        default:
            throw ElectraError("unknown preset '\(name)'; choose one of \(names.joined(separator: ", "))")
        }
        return PretrainingPreset(name: name, discriminator: c, generatorSize: gen, learningRate: lr, maskProbability: mask,
                                 temperature: temperature)
    }

    /// The generator of the RTD recipe: the discriminator's depth and embeddings, hidden size
    /// x `size` (heads = hidden / 64, at least 1; FFN = 4 x hidden).
    public static func generatorConfig(discriminator d: ElectraConfig, size: Double) throws -> ElectraConfig {
        guard size > 0 && size <= 1 else { throw ElectraError("--generator-size must be in (0, 1], got \(size)") }
        var g = d
        var hidden = max(1, Int((Double(d.hiddenSize) * size).rounded()))
        let heads = max(1, hidden / 64)
        hidden = hidden / heads * heads
        g.hiddenSize = hidden
        g.numAttentionHeads = heads
        g.intermediateSize = 4 * hidden
        g.architectures = [ElectraForMaskedLM.architecture]
        return g
    }
}

/// The RTD pair: a discriminator, and a generator built on the very same embedding
/// `Parameter`s (word, position, token type, embedding LayerNorm): one object each, so the
/// gradients of both models sum into it and the optimizer updates it once. The generator's
/// LM head is tied to the shared word embeddings (its own bias); its embeddings_project is
/// its own.
public enum PretrainingModels {
    public static let sharedNames = [
        "electra.embeddings.word_embeddings.weight", "electra.embeddings.position_embeddings.weight",
        "electra.embeddings.token_type_embeddings.weight", "electra.embeddings.LayerNorm.weight",
        "electra.embeddings.LayerNorm.bias",
    ]

    public static func build(discriminator d: ElectraConfig, generator g: ElectraConfig, seed: UInt64)
        throws -> (discriminator: ElectraForPreTraining, generator: ElectraForMaskedLM) {
        guard d.embeddingSize == g.embeddingSize, d.vocabSize == g.vocabSize,
              d.maxPositionEmbeddings == g.maxPositionEmbeddings, d.typeVocabSize == g.typeVocabSize else {
            throw ElectraError("the generator must have the discriminator's embedding shapes to share them")
        }
        let disc = try ElectraForPreTraining(config: d, seed: seed)
        var shared: [String: Parameter] = [:]
        for name in sharedNames { shared[name] = disc.parameters[name]! }
        let builder = ParameterBuilder(weights: nil, initializerRange: g.initializerRange, seed: seed &+ 7, shared: shared)
        let gen = try ElectraForMaskedLM(config: g, builder: builder)
        return (disc, gen)
    }
}

/// How the absolute position embeddings start. `normal` is HF's initialisation (normal(0,
/// initializer_range), every row unrelated to its neighbours); `sinusoidal` starts them as the
/// Transformer's sin/cos table (Vaswani et al. 2017) scaled to the same RMS. A masked position's
/// own input is [MASK], so a masked LM can only predict it from other positions, and learning
/// to attend to neighbours with unrelated random rows takes a long plateau; with sinusoids,
/// position p + k is a fixed rotation of position p at every p, so one low-rank query-key map
/// attends to "the next word" everywhere. The saved model is an ordinary HF ELECTRA (learned
/// absolute positions): only the starting values differ.
public enum PositionInitialization: String, Sendable, CaseIterable {
    case normal, sinusoidal

    /// Overwrites `positions` [P, E] with sin(p / 10000^(2i/E)) in column 2i and the cosine in
    /// column 2i + 1, times `rms` x sqrt(2) (each column's mean square over a period is 1/2).
    public static func sinusoidal(_ positions: Parameter, rms: Float) {
        let rows = positions.shape[0], width = positions.shape[1]
        let scale = Double(rms) * 2.0.squareRoot()
        let w = positions.pointer
        for p in 0..<rows {
            for i in stride(from: 0, to: width, by: 2) {
                let angle = Double(p) / pow(10000, Double(i) / Double(width))
                w[p * width + i] = Float(sin(angle) * scale)
                if i + 1 < width { w[p * width + i + 1] = Float(cos(angle) * scale) }
            }
        }
        positions.markChanged()
    }
}

/// How the attention weights start. `normal` is HF's initialisation: independent
/// normal(0, initializer_range) draws, so every score is near 0 (attention uniform over the
/// sequence) and what attention adds to the residual stream is tiny. Both the query-key and
/// the value-output paths are then products of two small matrices, a saddle where a masked LM
/// learns to use context slowly: a [MASK]ed position's own input says nothing, so everything it
/// predicts must come through them. `mimetic` (after Trockman & Kolter 2023, "Mimetic
/// Initialization of Self-Attention Layers") starts them where trained attention layers are:
/// the key weight equal to the query weight (drawn from normal(0, `queryKeyStd`)), so each
/// score is a similarity of two tokens' inputs (with sinusoidal positions, near positions score
/// above far ones), and the output weight `valueGain` x the value weight's transpose, with the
/// value weight drawn from normal(0, 1/sqrt(H)), so attention passes the attended tokens'
/// inputs into the residual stream at full scale (W_O W_V = valueGain x I in expectation).
/// Biases stay 0; the saved model is an ordinary HF ELECTRA.
public enum AttentionInitialization: String, Sendable, CaseIterable {
    case normal, mimetic

    public static func mimetic(_ backbone: ElectraBackbone, queryKeyStd: Float, valueGain: Float, seed: UInt64) {
        var rng = Xoshiro256(seed: seed)
        let H = backbone.config.hiddenSize
        let valueStd = 1 / Float(H).squareRoot()
        for layer in backbone.layers {
            let q = layer.query.weight, k = layer.key.weight, v = layer.value.weight, o = layer.attentionOutput.weight
            for i in 0..<q.value.count { q.pointer[i] = rng.nextNormal() * queryKeyStd }
            k.pointer.update(from: q.pointer, count: q.value.count)
            for i in 0..<v.value.count { v.pointer[i] = rng.nextNormal() * valueStd }
            // W_O = gain x W_V^T ([out, in] layout: o[r, c] = gain x v[c, r]).
            for r in 0..<H { for c in 0..<H { o.pointer[r * H + c] = valueGain * v.pointer[c * H + r] } }
            for p in [q, k, v, o] { p.markChanged() }
        }
    }
}
