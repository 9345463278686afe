import Electra
import ElectraTokenizers
import Foundation
import Testing

@testable import ElectraPipelines

/// `SentenceEmbeddingPipeline` (electra embed): pooled vectors equal the model's own hidden
/// states, batches with padding give the vectors single texts give, and the options do what
/// they say.
struct SentenceEmbeddingTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/tiny-electra")

    let texts = ["a cat", "the quick brown fox jumps over the lazy dog", "naïve café résumé", "x"]

    @Test func meanAndClsEqualTheHiddenStates() throws {
        let e = try SentenceEmbeddingPipeline(folder: Self.folder, options: PipelineOptions(batchSize: 3))
        let tok = try ElectraTokenizer.load(directory: Self.folder)
        for pooling in SentenceEmbeddingPipeline.Pooling.allCases {
            for layer in [-1, 0, 1] {
                let batched = try e(texts, settings: .init(pooling: pooling, layer: layer))
                for (k, text) in texts.enumerated() {
                    let ids = try tok.encode(text).ids
                    let out = try e.model(ElectraInputs(ids: [ids]), options: ForwardOptions(outputHiddenStates: true))
                    let h = out.hiddenStates![try e.layerIndex(layer)].scalars, H = e.dimension
                    let want: [Float] = pooling == .cls ? Array(h[0..<H])
                        : (0..<H).map { j in (0..<ids.count).reduce(Float(0)) { $0 + h[$1 * H + j] } / Float(ids.count) }
                    let diff = zip(batched[k].vector, want).map { abs($0 - $1) }.max()!
                    #expect(diff <= 1e-5, "\(pooling) layer \(layer) text \(k): \(diff)")
                }
            }
        }
    }

    @Test func optionsDoWhatTheySay() throws {
        let e = try SentenceEmbeddingPipeline(folder: Self.folder)
        for v in try e(texts, settings: .init(normalize: true)) { #expect(abs(v.vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5) }
        #expect(throws: ElectraError.self) { try e(texts, settings: .init(layer: 3)) }
        let cut = try e(texts, settings: .init(maxLength: 5))
        #expect(cut.count == texts.count && cut.filter(\.truncated).count == 1)
        #expect(throws: ElectraError.self) { try e(texts, settings: .init(maxLength: 100_000)) }
    }
}
