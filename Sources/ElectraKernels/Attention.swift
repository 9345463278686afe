/// Relative position scores (HF 4.x `relative_key` / `relative_key_query`).
public struct RelativePositions {
    /// distance_embedding.weight: [2 * maxPositions - 1, headDim]; row (l - r) + maxPositions - 1.
    public let table: UnsafePointer<Float>
    public let maxPositions: Int
    public let keyQuery: Bool
    public init(table: UnsafePointer<Float>, maxPositions: Int, keyQuery: Bool) {
        self.table = table
        self.maxPositions = maxPositions
        self.keyQuery = keyQuery
    }
}

/// Shape of one attention call: `batch` sequences padded to `length`, or (with `segments`)
/// `batch` sequences packed one after another with no padding, sequence b in rows
/// segments[b]..<segments[b + 1] and `length` the longest of them.
public struct AttentionShape: Sendable {
    public let batch: Int, length: Int, heads: Int, headDim: Int
    /// Packed sequences' row offsets (batch + 1 of them, from 0 to the row count), or nil.
    public let segments: [Int]?
    public init(batch: Int, length: Int, heads: Int, headDim: Int, segments: [Int]? = nil) {
        self.batch = batch
        self.length = length
        self.heads = heads
        self.headDim = headDim
        self.segments = segments
    }
    public var hidden: Int { heads * headDim }
    /// Rows of the call: batch * length, or the packed sequences' total.
    public var tokens: Int { segments?.last ?? batch * length }
    /// Sequence b's first row and length.
    @inline(__always) public func sequence(_ b: Int) -> (start: Int, length: Int) {
        guard let s = segments else { return (b * length, length) }
        return (s[b], s[b + 1] - s[b])
    }
    /// Floats of per-thread scratch one (b, h) pair needs: scores [L, L], the relative
    /// terms [2, L, 2L-1], dropped probabilities [L, L], softmax denominators [L].
    public var scratchPerThread: Int { 2 * length * length + 2 * length * (2 * length - 1) + length }
}

/// Scaled dot-product attention per (batch, head), without materialising more than one
/// [L, L] score block per thread unless `probs` asks to keep them.
/// q, k, v: rows of `ldqkv` floats (the fused [N, 3H] projection: ldqkv = 3H), head h in
/// columns h*d..<(h+1)*d; maskBias: [N] (0 or float32.min); ctx: [N, H], N = shape.tokens
/// (packed sequences attend only within themselves); probs: [B, nh, L, L] when non-nil (not
/// with packed sequences); scratch: [scratchRows, scratchPerThread] (a row per worker
/// thread; at most `scratchRows` threads take part).
public func attentionForward(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldqkv: Int,
    ctx: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>?,
    maskBias: UnsafePointer<Float>, shape s: AttentionShape, relative: RelativePositions?,
    scratch: UnsafeMutablePointer<Float>, scratchRows: Int, probsDropout: UnsafePointer<Float>? = nil
) {
    let d = s.headDim, H = s.hidden
    precondition(s.segments == nil || (probs == nil && probsDropout == nil), "packed sequences keep no attention probabilities")
    let alpha = 1 / Float(d).squareRoot()
    // Without kept probabilities the rows of P need not be normalised: ctx = (E V) / Σ E
    // divides L x d outputs instead of L x L probabilities.
    let deferNormalising = probs == nil && probsDropout == nil
    Parallel.forChunks(s.batch * s.heads, maxThreads: scratchRows) { worker, range in
        let mine = scratch + worker * s.scratchPerThread
        let sums = mine + s.scratchPerThread - s.length  // [L] softmax denominators
        for bh in range {
            let b = bh / s.heads, h = bh % s.heads
            let (start, L) = s.sequence(b)
            let qb = q + start * ldqkv + h * d
            let kb = k + start * ldqkv + h * d
            let vb = v + start * ldqkv + h * d
            let scores = probs.map { $0 + bh * L * L } ?? mine
            // scores[L, L] = mask + alpha * Q K^T: the mask written where BLAS would
            // otherwise zero C (beta 0 is a pass of its own in OpenBLAS), then accumulated.
            let bias = maskBias + start
            for l in 0..<L { (scores + l * L).update(from: bias, count: L) }
            sgemm(transA: false, transB: true, m: L, n: L, k: d, alpha: alpha, a: qb, lda: ldqkv,
                  b: kb, ldb: ldqkv, beta: 1, c: scores, ldc: L)
            if let rel = relative {
                addRelativeScores(scores, q: qb, k: kb, rel: rel, L: L, d: d, ld: ldqkv, alpha: alpha,
                                  scratch: mine + L * L)
            }
            let out = ctx + start * H + h * d
            if deferNormalising {
                for l in 0..<L { sums[l] = expShiftedRow(scores + l * L, L) }
                sgemm(transA: false, transB: false, m: L, n: d, k: L, alpha: 1, a: scores, lda: L,
                      b: vb, ldb: ldqkv, beta: 0, c: out, ldc: H)
                for l in 0..<L { scaleRow(out + l * H, d, by: 1 / sums[l]) }
                continue
            }
            for l in 0..<L { softmaxRow(scores + l * L, L) }
            // Dropout on the probabilities (training): P' = P * mask, P itself is kept.
            var weights = UnsafePointer(scores)
            if let dropMask = probsDropout {
                let dropped = mine + L * L + 2 * L * (2 * L - 1)
                multiply(dropped, scores, dropMask + bh * L * L, count: L * L)
                weights = UnsafePointer(dropped)
            }
            // ctx[L, d] = P' V
            sgemm(transA: false, transB: false, m: L, n: d, k: L, alpha: 1, a: weights, lda: L,
                  b: vb, ldb: ldqkv, beta: 0, c: out, ldc: H)
        }
    }
}

/// scores[l, r] += alpha * (q_l · P[l - r + M - 1]) (+ alpha * (k_r · P[l - r + M - 1])).
/// The 2L-1 table rows that can occur form one window, so each term is one GEMM:
/// T[l, j] = q_l · W_j with W_j = P[M - L + j], and scores[l, r] += T[l, l - r + L - 1].
private func addRelativeScores(
    _ scores: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
    rel: RelativePositions, L: Int, d: Int, ld: Int, alpha: Float, scratch: UnsafeMutablePointer<Float>
) {
    let w = 2 * L - 1
    let window = rel.table + (rel.maxPositions - L) * d
    let tq = scratch
    sgemm(transA: false, transB: true, m: L, n: w, k: d, alpha: alpha, a: q, lda: ld,
          b: window, ldb: d, beta: 0, c: tq, ldc: w)
    for l in 0..<L {
        let row = scores + l * L
        let t = tq + l * w + l + L - 1
        for r in 0..<L { row[r] += t[-r] }
    }
    if rel.keyQuery {
        let tk = scratch + L * w
        sgemm(transA: false, transB: true, m: L, n: w, k: d, alpha: alpha, a: k, lda: ld,
              b: window, ldb: d, beta: 0, c: tk, ldc: w)
        for l in 0..<L {
            let row = scores + l * L
            for r in 0..<L { row[r] += tk[r * w + l - r + L - 1] }
        }
    }
}

extension AttentionShape {
    /// Floats of per-thread scratch the backward pass needs per (b, h):
    /// dP [L, L], and for relative positions dT [L, 2L-1] plus the window gradient [2L-1, d].
    public var backwardScratchPerThread: Int { 2 * length * length + length * (2 * length - 1) + (2 * length - 1) * headDim }
}

/// Backward of `attentionForward` (through the probabilities' dropout mask when given). probs: the kept softmax output
/// [B, nh, L, L]; dContext [B*L, H] in; dQ, dK, dV [B*L, H] out (overwritten).
/// Relative positions: the distance-table gradient is accumulated into `dTable`
/// ([2M-1, d]) through per-thread partials, since every (b, h) touches the same rows.
public func attentionBackward(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldqkv: Int, probs: UnsafePointer<Float>,
    dContext: UnsafePointer<Float>, dQ: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>,
    dV: UnsafeMutablePointer<Float>, shape s: AttentionShape, relative: RelativePositions?,
    dTable: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>, scratchRows: Int,
    probsDropout: UnsafePointer<Float>? = nil
) {
    let L = s.length, d = s.headDim, H = s.hidden, w = 2 * L - 1
    let alpha = 1 / Float(d).squareRoot()
    let threads = scratchRows
    if relative != nil {
        for t in 0..<threads {
            (scratch + t * s.backwardScratchPerThread + L * L + L * w).initialize(repeating: 0, count: w * d)
        }
    }
    Parallel.forRanges(s.batch * s.heads, maxChunks: threads) { chunk, range in
        let dP = scratch + chunk * s.backwardScratchPerThread
        let dT = dP + L * L
        let dWindow = dT + L * w
        for bh in range {
            let b = bh / s.heads, h = bh % s.heads
            let off = b * L * H + h * d
            let qoff = b * L * ldqkv + h * d
            let p = probs + bh * L * L
            // With dropout the context used P' = P * mask: dV = P'^T dCtx, dP = (dCtx V^T) * mask.
            var used = p
            if let dropMask = probsDropout {
                let dropped = dWindow + w * d
                multiply(dropped, p, dropMask + bh * L * L, count: L * L)
                used = UnsafePointer(dropped)
            }
            sgemm(transA: true, transB: false, m: L, n: d, k: L, alpha: 1, a: used, lda: L,
                  b: dContext + off, ldb: H, beta: 0, c: dV + off, ldc: H)
            sgemm(transA: false, transB: true, m: L, n: L, k: d, alpha: 1, a: dContext + off, lda: H,
                  b: v + qoff, ldb: ldqkv, beta: 0, c: dP, ldc: L)
            if let dropMask = probsDropout { multiply(dP, dP, dropMask + bh * L * L, count: L * L) }
            softmaxRowsBackward(dP, dp: dP, p: p, rows: L, L)
            // dQ = alpha dS K ; dK = alpha dS^T Q
            sgemm(transA: false, transB: false, m: L, n: d, k: L, alpha: alpha, a: dP, lda: L,
                  b: k + qoff, ldb: ldqkv, beta: 0, c: dQ + off, ldc: H)
            sgemm(transA: true, transB: false, m: L, n: d, k: L, alpha: alpha, a: dP, lda: L,
                  b: q + qoff, ldb: ldqkv, beta: 0, c: dK + off, ldc: H)
            guard let rel = relative else { continue }
            let window = rel.table + (rel.maxPositions - L) * d
            // Query term: scores[l, r] += alpha q_l · W[l - r + L - 1].
            dT.initialize(repeating: 0, count: L * w)
            for l in 0..<L { for r in 0..<L { dT[l * w + l - r + L - 1] = dP[l * L + r] } }
            sgemm(transA: false, transB: false, m: L, n: d, k: w, alpha: alpha, a: dT, lda: w,
                  b: window, ldb: d, beta: 1, c: dQ + off, ldc: H)
            sgemm(transA: true, transB: false, m: w, n: d, k: L, alpha: alpha, a: dT, lda: w,
                  b: q + qoff, ldb: ldqkv, beta: 1, c: dWindow, ldc: d)
            if rel.keyQuery {
                // Key term: scores[l, r] += alpha k_r · W[l - r + L - 1].
                dT.initialize(repeating: 0, count: L * w)
                for l in 0..<L { for r in 0..<L { dT[r * w + l - r + L - 1] = dP[l * L + r] } }
                sgemm(transA: false, transB: false, m: L, n: d, k: w, alpha: alpha, a: dT, lda: w,
                      b: window, ldb: d, beta: 1, c: dK + off, ldc: H)
                sgemm(transA: true, transB: false, m: w, n: d, k: L, alpha: alpha, a: dT, lda: w,
                      b: k + qoff, ldb: ldqkv, beta: 1, c: dWindow, ldc: d)
            }
        }
    }
    if let rel = relative, let dTable {
        let base = dTable + (rel.maxPositions - L) * d
        for t in 0..<threads {
            let part = scratch + t * s.backwardScratchPerThread + L * L + L * w
            for i in 0..<(w * d) { base[i] += part[i] }
        }
    }
}
