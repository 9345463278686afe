/// Gathers and scatters by index: embedding lookups, per-sequence summaries, and the
/// interleaving of a two-column output. Each gather has its scatter (the backward) beside it.

/// out[i] = word[ids[i]] + type[types[i]] (+ pos[positions[i]]) for N rows of width e
/// (ids already validated against the table sizes).
public func embeddingSum(
    _ out: UnsafeMutablePointer<Float>, word: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
    type: UnsafePointer<Float>, types: UnsafePointer<Int32>,
    position: UnsafePointer<Float>?, positions: UnsafePointer<Int32>, rows n: Int, width e: Int
) {
    Parallel.forRanges(n, minChunk: 64) { _, r in
        for i in r {
            let o = out + i * e
            let wr = word + Int(ids[i]) * e
            let tr = type + Int(types[i]) * e
            if let position {
                let pr = position + Int(positions[i]) * e
                for j in 0..<e { o[j] = wr[j] + tr[j] + pr[j] }
            } else {
                for j in 0..<e { o[j] = wr[j] + tr[j] }
            }
        }
    }
}

/// table[index[i]] += d[i] for N rows of width e, skipping rows whose index is `skip`
/// (torch's Embedding(padding_idx): the padding row gets no gradient). Serial: rows may
/// repeat an index.
public func embeddingScatterAdd(
    _ table: UnsafeMutablePointer<Float>, _ d: UnsafePointer<Float>, index: UnsafePointer<Int32>,
    rows n: Int, width e: Int, skip: Int? = nil
) {
    for i in 0..<n {
        let id = Int(index[i])
        if id == skip { continue }
        let row = table + id * e, g = d + i * e
        for j in 0..<e { row[j] += g[j] }
    }
}

/// Which vector of each sequence a summary takes (HF SequenceSummary; cls_index without
/// indices is the last token).
public enum SequencePick: Sendable { case first, last, mean }

/// out [S, width] = h [S, L, width] summarised per sequence.
public func summarizeSequences(
    _ h: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, sequences s: Int, length l: Int,
    width w: Int, mode: SequencePick
) {
    for i in 0..<s {
        let o = out + i * w
        switch mode {
        case .first: o.update(from: h + i * l * w, count: w)
        case .last: o.update(from: h + (i * l + l - 1) * w, count: w)
        case .mean:
            o.initialize(repeating: 0, count: w)
            for t in 0..<l { let row = h + (i * l + t) * w; for j in 0..<w { o[j] += row[j] } }
            for j in 0..<w { o[j] /= Float(l) }
        }
    }
}

/// The backward of `summarizeSequences`: d [S, width] into dSeq [S, L, width] (overwritten)
/// at the positions the summary read.
public func scatterSummaryGradient(
    _ d: UnsafePointer<Float>, into dSeq: UnsafeMutablePointer<Float>, sequences s: Int, length l: Int,
    hidden w: Int, mode: SequencePick
) {
    dSeq.initialize(repeating: 0, count: s * l * w)
    for i in 0..<s {
        let src = d + i * w
        switch mode {
        case .first: (dSeq + i * l * w).update(from: src, count: w)
        case .last: (dSeq + (i * l + l - 1) * w).update(from: src, count: w)
        case .mean:
            for t in 0..<l {
                let dst = dSeq + (i * l + t) * w
                for j in 0..<w { dst[j] = src[j] / Float(l) }
            }
        }
    }
}

/// pairs [n, 2] -> a [n], b [n].
public func deinterleave(_ pairs: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n { a[i] = pairs[2 * i]; b[i] = pairs[2 * i + 1] }
}

/// a [n], b [n] -> pairs [n, 2] (the backward of `deinterleave`).
public func interleave(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into pairs: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n { pairs[2 * i] = a[i]; pairs[2 * i + 1] = b[i] }
}

/// out[i] = src[rows[i]] for each listed row of width w (the masked positions a generator
/// predicts at).
public func gatherRows(_ src: UnsafePointer<Float>, rows: [Int], width w: Int, into out: UnsafeMutablePointer<Float>) {
    for (i, r) in rows.enumerated() { (out + i * w).update(from: src + r * w, count: w) }
}

/// dst[rows[i]] = src[i]: the backward of `gatherRows` into a zeroed dst (rows distinct).
public func scatterRows(_ src: UnsafePointer<Float>, rows: [Int], width w: Int, into dst: UnsafeMutablePointer<Float>) {
    for (i, r) in rows.enumerated() { (dst + r * w).update(from: src + i * w, count: w) }
}
