import Electra
import ElectraTokenizers
import Foundation

/// ELECTRA's pretraining corruption on plain sentences: 15% of the tokens are masked, the
/// generator samples a token for each, and the discriminator scores every token of the
/// rewritten sentence. What `electra demo` shows; also a quick check of a trained pair.
public struct TextCorrupter {
    public let generator: ElectraForMaskedLM
    public let discriminator: ElectraForPreTraining
    public let tokenizer: ElectraTokenizer
    /// Sampling temperature of the generator (1: the paper's; higher: easier replacements).
    public let temperature: Float
    public var rng: Xoshiro256

    public struct Corrupted: Sendable {
        /// Token ids without [CLS]/[SEP], before and after the generator's rewrite.
        public var original: [Int], rewritten: [Int]
        /// Positions that were masked (some keep their token when the generator samples it).
        public var chosen: Set<Int>
        /// The discriminator's probability that each token of `rewritten` was replaced.
        public var probabilities: [Float]
        public func isReplaced(_ i: Int) -> Bool { rewritten[i] != original[i] }
    }

    public init(generator: ElectraForMaskedLM, discriminator: ElectraForPreTraining, tokenizer: ElectraTokenizer,
                seed: UInt64 = 0, temperature: Float = 1) throws {
        guard temperature > 0 && temperature.isFinite else { throw ElectraError("temperature must be positive, got \(temperature)") }
        guard generator.config.vocabSize == discriminator.config.vocabSize else {
            throw ElectraError("the generator's vocab_size (\(generator.config.vocabSize)) differs from the discriminator's (\(discriminator.config.vocabSize)); they are no pair")
        }
        self.generator = generator
        self.discriminator = discriminator
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.temperature = temperature
        rng = Xoshiro256(seed: seed)
    }

    /// Sentences longer than the models' positions are cut; empty ones are left out.
    public mutating func corrupt(_ sentences: [String]) throws -> [Corrupted] {
        let tok = tokenizer
        let limit = min(discriminator.config.maxPositionEmbeddings, generator.config.maxPositionEmbeddings) - 2
        var items: [Corrupted] = []
        for s in sentences {
            let ids = Array(try tok.encode(s, addSpecialTokens: false).ids.prefix(limit))
            guard !ids.isEmpty else { continue }
            let n = max(1, Int((Double(ids.count) * 0.15).rounded()))
            var order = Array(ids.indices)
            for j in 0..<n { order.swapAt(j, j + Int(rng.next() % UInt64(order.count - j))) }
            items.append(Corrupted(original: ids, rewritten: ids, chosen: Set(order.prefix(n)), probabilities: []))
        }
        guard !items.isEmpty else { return [] }
        func batch(_ rows: [[Int]]) throws -> ElectraInputs {
            try ElectraInputs(encodings: rows.map { r in
                let ids = [tok.clsTokenId] + r + [tok.sepTokenId]
                return Encoding(ids: ids, typeIds: ids.map { _ in 0 }, attentionMask: ids.map { _ in 1 })
            }, padId: tok.padTokenId)
        }
        let masked = items.map { item in item.original.indices.map { item.chosen.contains($0) ? tok.maskTokenId : item.original[$0] } }
        let genInputs = try batch(masked)
        let L = genInputs.inputIds.shape[1]
        let logits = try generator(genInputs).logits!
        let V = generator.config.vocabSize
        for b in items.indices {
            let positions = items[b].chosen.sorted()
            let gathered = positions.flatMap { Array(UnsafeBufferPointer(start: logits.pointer + (b * L + $0 + 1) * V, count: V)) }
            let uniforms = positions.map { _ in rng.nextUniform() }
            let samples = sampleCategorical(logits: gathered, rows: positions.count, classes: V, temperature: temperature, uniforms: uniforms).samples
            for (p, s) in zip(positions, samples) { items[b].rewritten[p] = s }
        }
        let z = try discriminator(try batch(items.map(\.rewritten))).logits!.scalars
        for b in items.indices {
            items[b].probabilities = items[b].rewritten.indices.map { Scores.sigmoid(z[b * L + $0 + 1]) }
        }
        return items
    }
}
