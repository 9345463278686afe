/// The published ELECTRA shapes (ELECTRA-NOTES.md), for benchmarks and random models.
extension ElectraConfig {
    public static func preset(_ name: String) -> ElectraConfig? {
        var c = ElectraConfig()
        switch name {
        case "small": break  // ElectraConfig's defaults are the small discriminator
        case "small-generator":
            // The RTD recipe's generator (hidden x 0.25, heads = H/64, FFN = 4H); the released
            // google/electra-small-generator checkpoint has the discriminator's shape instead.
            c.hiddenSize = 64; c.numAttentionHeads = 1; c.intermediateSize = 256
        case "base":
            c.embeddingSize = 768; c.hiddenSize = 768; c.numAttentionHeads = 12; c.intermediateSize = 3072
        case "base-generator":
            c.embeddingSize = 768; c.hiddenSize = 256; c.numAttentionHeads = 4; c.intermediateSize = 1024
        case "large":
            c.embeddingSize = 1024; c.hiddenSize = 1024; c.numHiddenLayers = 24; c.numAttentionHeads = 16; c.intermediateSize = 4096
        case "large-generator":
            c.embeddingSize = 1024; c.hiddenSize = 256; c.numHiddenLayers = 24; c.numAttentionHeads = 4; c.intermediateSize = 1024
        default: return nil
        }
        return c
    }

    public static let presetNames = ["small", "small-generator", "base", "base-generator", "large", "large-generator"]

    /// Multiply-adds x2 of one backbone forward, per token, at sequence length `length`.
    public func forwardFlopsPerToken(length: Int) -> Double {
        let H = Double(hiddenSize), I = Double(intermediateSize), E = Double(embeddingSize), L = Double(length)
        let project = embeddingSize != hiddenSize ? 2 * E * H : 0
        let layer = 2 * (4 * H * H + 2 * H * I) + 4 * L * H
        return project + Double(numHiddenLayers) * layer
    }
}
