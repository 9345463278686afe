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
        batch.ids.withUnsafeBufferPointer { ids in
            batch.types.withUnsafeBufferPointer { types in
                batch.positions.withUnsafeBufferPointer { positions in
                    embeddingSum(out, word: word.pointer, ids: ids.baseAddress!, type: tokenType.pointer, types: types.baseAddress!,
                                 position: addPositions ? position.pointer : nil, positions: positions.baseAddress!,
                                 rows: batch.tokens, width: width)
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
        batch.ids.withUnsafeBufferPointer { ids in
            embeddingScatterAdd(word.gradPointer, dOut, index: ids.baseAddress!, rows: n, width: e, skip: paddingIndex)
        }
        batch.types.withUnsafeBufferPointer { types in
            embeddingScatterAdd(tokenType.gradPointer, dOut, index: types.baseAddress!, rows: n, width: e)
        }
        if addPositions {
            batch.positions.withUnsafeBufferPointer { positions in
                embeddingScatterAdd(position.gradPointer, dOut, index: positions.baseAddress!, rows: n, width: e)
            }
        }
    }
}
