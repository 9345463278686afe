import ElectraKernels

/// HF `ElectraEmbeddings`: word + token type (+ absolute position) embeddings of width E,
/// then LayerNorm. Absolute position embeddings exist in every checkpoint but are only added
/// when position_embedding_type == "absolute" (HF semantics).
public struct Embeddings: Sendable {
    public let word: Parameter       // [vocab, E]
    public let position: Parameter   // [max_pos, E]
    public let tokenType: Parameter  // [type_vocab, E]
    public let layerNorm: LayerNormWeights
    public let addPositions: Bool

    init(_ vb: ParameterBuilder, _ c: ElectraConfig) throws {
        word = try vb.pp("word_embeddings").parameter("weight", shape: [c.vocabSize, c.embeddingSize], role: .embedding, paddingIndex: c.padTokenId)
        position = try vb.pp("position_embeddings").parameter("weight", shape: [c.maxPositionEmbeddings, c.embeddingSize], role: .embedding)
        tokenType = try vb.pp("token_type_embeddings").parameter("weight", shape: [c.typeVocabSize, c.embeddingSize], role: .embedding)
        layerNorm = try vb.layerNorm("LayerNorm", size: c.embeddingSize, eps: c.layerNormEps)
        addPositions = c.positionEmbeddingType == .absolute
    }

    var width: Int { word.shape[1] }

    /// out: [N, E] = word[ids] + type[types] (+ pos[positions]) for the batch's N = B*L
    /// tokens (ids already validated against the table sizes). The pre-norm sum of both the
    /// forward pass and the backward pass's recomputation.
    private func sum(into out: UnsafeMutablePointer<Float>, _ batch: TokenBatch) {
        let e = width, n = batch.tokens
        let w = word.pointer, t = tokenType.pointer, p = position.pointer
        let addPos = addPositions
        batch.ids.withUnsafeBufferPointer { ids in
            batch.types.withUnsafeBufferPointer { types in
                batch.positions.withUnsafeBufferPointer { positions in
                    Parallel.forRanges(n, minChunk: 64) { _, r in
                        for i in r {
                            let o = out + i * e
                            let wr = w + Int(ids[i]) * e
                            let tr = t + Int(types[i]) * e
                            if addPos {
                                let pr = p + Int(positions[i]) * e
                                for j in 0..<e { o[j] = wr[j] + tr[j] + pr[j] }
                            } else {
                                for j in 0..<e { o[j] = wr[j] + tr[j] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// out: [N, E] = LN(word[ids] + type[types] + pos[positions]).
    /// mean/rstd: [N], kept for the backward pass when given.
    func forward(
        _ out: UnsafeMutablePointer<Float>, _ batch: TokenBatch,
        mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil
    ) {
        sum(into: out, batch)
        layerNorm.forward(out, out, rows: batch.tokens, mean: mean, rstd: rstd)
    }

    /// Backward of `forward`. dOut: [N, E] gradient of the LayerNorm output (consumed as
    /// scratch). Word/type/position gradients are scattered (+=) row by row; the padding row
    /// of the word table gets none, as torch's Embedding(padding_idx) does.
    /// scratch: [N, E] receives the recomputed pre-norm sum.
    func backward(
        dOut: UnsafeMutablePointer<Float>, _ batch: TokenBatch, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        paddingIndex: Int?, scratch: UnsafeMutablePointer<Float>
    ) {
        let e = width, n = batch.tokens
        sum(into: scratch, batch)
        layerNorm.backward(dx: dOut, dy: dOut, input: scratch, residual: nil, mean: mean, rstd: rstd, rows: n)
        let dw = word.gradPointer, dt = tokenType.gradPointer, dp = position.gradPointer
        for i in 0..<n {
            let g = dOut + i * e
            let id = Int(batch.ids[i])
            if id != paddingIndex {
                let row = dw + id * e
                for j in 0..<e { row[j] += g[j] }
            }
            let trow = dt + Int(batch.types[i]) * e
            for j in 0..<e { trow[j] += g[j] }
            if addPositions {
                let prow = dp + Int(batch.positions[i]) * e
                for j in 0..<e { prow[j] += g[j] }
            }
        }
    }
}
