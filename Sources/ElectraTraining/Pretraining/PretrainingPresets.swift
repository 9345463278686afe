import Electra
import Foundation

/// Model shapes and recipe defaults for `electra pretrain`: the paper's small, base and large
/// (ELECTRA-NOTES.md) with the paper's recipe, and two shapes for CPU runs: mini (4 layers,
/// hidden 256, 4 heads, FFN 1024, embeddings 128) and tiny (2 layers, hidden 128, 2 heads,
/// FFN 512), with the recipe that takes them off the unigram plateau within a CPU budget
/// (docs/pretraining.md, "Leaving the unigram plateau"):
/// - sinusoidal position embeddings at RMS 0.1 and sequence length warmup (pieces of 16, 32
///   and 64 tokens first): with HF's initialisation, attention stayed uniform over the
///   example for thousands of steps, so a [MASK]ed position saw only a bag of the whole
///   example and the masked LM predicted word frequencies;
/// - dropout 0: the run is far too short to overfit;
/// - a generator of the discriminator's size that trains alone first, then starts the
///   discriminator (the paper's two-stage variant) and keeps training with it; the
///   discriminator ramps its learning rate up, and sampling cools from temperature 3 to the
///   paper's 1, so it meets easy replacements first.
/// The warmups shrink for short runs (`PretrainingRecipe.warmups(totalSteps:)`).
public struct PretrainingPreset: Sendable {
    public let name: String
    public let discriminator: ElectraConfig
    public let learningRate: Float
    public var recipe: PretrainingRecipe

    public var generatorSize: Double { recipe.generatorSize }

    public static let names = ["tiny", "mini", "small", "base", "large"]

    public static func named(_ name: String, vocabSize: Int = 30522) throws -> PretrainingPreset {
        var c = ElectraConfig()
        c.vocabSize = vocabSize
        c.architectures = [ElectraForPreTraining.architecture]
        var recipe = PretrainingRecipe(generatorSize: 0.25, temperature: 1)
        var lr: Float = 5e-4
        func shape(_ e: Int, _ h: Int, _ layers: Int, _ heads: Int, _ ffn: Int) {
            c.embeddingSize = e; c.hiddenSize = h; c.numHiddenLayers = layers; c.numAttentionHeads = heads; c.intermediateSize = ffn
        }
        func cpuRecipe(warmup: Int) {
            recipe.generatorSize = 1
            recipe.dropout = 0
            recipe.positionInitialization = .sinusoidal
            recipe.positionInitRMS = 0.1
            recipe.warmups.sequenceLength = warmup
            recipe.warmups.generator = warmup
            recipe.warmups.discriminatorRamp = warmup / 3
            recipe.warmups.temperature = warmup * 5 / 3
            recipe.startTemperature = 3
            recipe.discriminatorFromGenerator = true
            lr = 1e-3
        }
        switch name {
        case "tiny": shape(128, 128, 2, 2, 512); cpuRecipe(warmup: 600)
        case "mini": shape(128, 256, 4, 4, 1024); cpuRecipe(warmup: 900)
        case "small": shape(128, 256, 12, 4, 1024)
        case "base": shape(768, 768, 12, 12, 3072); recipe.generatorSize = 1.0 / 3; lr = 2e-4
        case "large": shape(1024, 1024, 24, 16, 4096); lr = 2e-4; recipe.masking.maskProbability = 0.25
        default:
            throw ElectraError("unknown preset '\(name)'; choose one of \(names.joined(separator: ", "))")
        }
        return PretrainingPreset(name: name, discriminator: c, learningRate: lr, recipe: recipe)
    }

    /// The generator of the RTD recipe: the discriminator's depth and embeddings, hidden size
    /// x `size` (heads = hidden / 64, at least 1; FFN = 4 x hidden). Size 1 is the
    /// discriminator's own shape, heads and FFN included (its encoder can then seed the
    /// discriminator's).
    public static func generatorConfig(discriminator d: ElectraConfig, size: Double) throws -> ElectraConfig {
        guard size > 0 && size <= 1 else { throw ElectraError("--generator-size must be in (0, 1], got \(size)") }
        var g = d
        if size == 1 {
            g.architectures = [ElectraForMaskedLM.architecture]
            return g
        }
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
