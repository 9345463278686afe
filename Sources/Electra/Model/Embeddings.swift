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

    /// out: [N, E] (N = B*L) = LN(word[ids] + type[types] + pos[positions]).
    /// ids/types/positions: [N], already validated against the table sizes.
    /// mean/rstd: [N] for backward when given; `sum` [N, E] keeps the pre-norm sum if given.
    func forward(
        _ out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, types: UnsafePointer<Int32>,
        positions: UnsafePointer<Int32>, count n: Int,
        mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil
    ) {
        let e = width
        let w = word.pointer, t = tokenType.pointer, p = position.pointer
        let addPos = addPositions
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
        layerNorm.forward(out, out, rows: n, mean: mean, rstd: rstd)
    }

    /// Backward of `forward`. dOut: [N, E] gradient of the LayerNorm output (consumed as
    /// scratch). Word/type/position gradients are scattered (+=) row by row; the padding row
    /// of the word table gets none, as torch's Embedding(padding_idx) does.
    func backward(
        dOut: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, types: UnsafePointer<Int32>,
        positions: UnsafePointer<Int32>, count n: Int, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        paddingIndex: Int?, scratch: UnsafeMutablePointer<Float>
    ) {
        let e = width
        // Recompute the pre-norm sum the forward pass normalised in place.
        let w = word.pointer, t = tokenType.pointer, p = position.pointer
        for i in 0..<n {
            let o = scratch + i * e
            let wr = w + Int(ids[i]) * e, tr = t + Int(types[i]) * e, pr = p + Int(positions[i]) * e
            for j in 0..<e { o[j] = addPositions ? wr[j] + tr[j] + pr[j] : wr[j] + tr[j] }
        }
        layerNorm.backward(dx: dOut, dy: dOut, input: scratch, residual: nil, mean: mean, rstd: rstd, rows: n)
        let dw = word.gradPointer, dt = tokenType.gradPointer, dp = position.gradPointer
        for i in 0..<n {
            let g = dOut + i * e
            if Int(ids[i]) != paddingIndex {
                let row = dw + Int(ids[i]) * e
                for j in 0..<e { row[j] += g[j] }
            }
            let trow = dt + Int(types[i]) * e
            for j in 0..<e { trow[j] += g[j] }
            if addPositions {
                let prow = dp + Int(positions[i]) * e
                for j in 0..<e { prow[j] += g[j] }
            }
        }
    }
}
