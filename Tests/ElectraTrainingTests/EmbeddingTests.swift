import Electra
import ElectraTokenizers
import Foundation
import Testing

@testable import ElectraTraining

/// `SentenceEmbedder` (electra embed): pooled vectors equal the model's own hidden states,
/// batches with padding give the vectors single texts give, and the options do what they say.
struct EmbeddingTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/tiny-electra")

    func embedder() throws -> SentenceEmbedder {
        let (m, _) = try ElectraModel.load(from: Self.folder)
        return SentenceEmbedder(model: m, tokenizer: try ElectraTokenizer.load(directory: Self.folder))
    }

    let texts = ["a cat", "the quick brown fox jumps over the lazy dog", "naïve café résumé", "x"]

    @Test func meanAndClsEqualTheHiddenStates() throws {
        var e = try embedder()
        let tok = try ElectraTokenizer.load(directory: Self.folder)
        for pooling in SentenceEmbedder.Pooling.allCases {
            for layer in [-1, 0, 1] {
                e.pooling = pooling
                e.layer = layer
                e.batchSize = 3
                let batched = try e.embed(texts)
                for (k, text) in texts.enumerated() {
                    let ids = try tok.encode(text).ids
                    let out = try e.model(ElectraInputs(ids: [ids]), options: ForwardOptions(outputHiddenStates: true))
                    let h = out.hiddenStates![try e.layerIndex()].scalars, H = e.dimension
                    let want: [Float] = pooling == .cls ? Array(h[0..<H])
                        : (0..<H).map { j in (0..<ids.count).reduce(Float(0)) { $0 + h[$1 * H + j] } / Float(ids.count) }
                    let diff = zip(batched[k], want).map { abs($0 - $1) }.max()!
                    #expect(diff <= 1e-5, "\(pooling) layer \(layer) text \(k): \(diff)")
                }
            }
        }
    }

    @Test func optionsDoWhatTheySay() throws {
        var e = try embedder()
        e.normalize = true
        for v in try e.embed(texts) { #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5) }
        e.layer = 3
        #expect(throws: ElectraError.self) { try e.embed(texts) }
        e.layer = -1
        e.maxLength = 5
        let cut = try e.embed(texts)
        #expect(cut.count == texts.count && e.truncated == 1)
        e.maxLength = 100_000
        #expect(throws: ElectraError.self) { try e.embed(texts) }
    }
}
