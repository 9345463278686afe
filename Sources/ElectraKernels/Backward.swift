import CVectorKernels
// Backward kernels, each the adjoint of a forward kernel in this module. Gradients of
// parameters are accumulated (+=) so shared and tied weights sum their contributions;
// gradients of activations are overwritten unless the comment says otherwise.

/// Linear backward for y[M,out] = x[M,in] · W[out,in]^T + b.
/// dx[M,in] = dy · W (+= when `accumulate`; skipped when nil); dW[out,in] += dy^T · x;
/// db[out] += Σ_rows dy.
public func linearBackward(
    dx: UnsafeMutablePointer<Float>?, accumulate: Bool = false,
    dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?,
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows m: Int, inFeatures: Int, outFeatures: Int
) {
    if let dx {
        parallelSgemm(transA: false, transB: false, m: m, n: inFeatures, k: outFeatures, alpha: 1,
                      a: dy, lda: outFeatures, b: weight, ldb: inFeatures, beta: accumulate ? 1 : 0, c: dx, ldc: inFeatures)
    }
    parallelSgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: m, alpha: 1,
                  a: dy, lda: outFeatures, b: x, ldb: inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
    if let dBias { addColumnSums(dBias, dy, rows: m, columns: outFeatures) }
}

/// acc[c] += Σ_r x[r, c] (a bias gradient): xᵀ · 1 through BLAS's sgemv (its vector kernels
/// for the CPU's ISA; the Swift loop compiled to SSE was 1.9% of a training step). Split by
/// columns so threads never write the same element.
public func addColumnSums(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, columns: Int) {
    guard rows > 0, columns > 0 else { return }
    let ones = UnsafeMutablePointer<Float>.allocate(capacity: rows)
    ones.initialize(repeating: 1, count: rows)
    defer { ones.deallocate() }
    Parallel.forRanges(columns, minChunk: 64) { _, cr in
        // acc[cr] = 1 · x[:, cr]ᵀ · ones + 1 · acc[cr]: a [rows, |cr|] block, transposed.
        sgemm(transA: true, transB: false, m: cr.count, n: 1, k: rows, alpha: 1, a: x + cr.lowerBound, lda: columns,
              b: ones, ldb: 1, beta: 1, c: acc + cr.lowerBound, ldc: 1)
    }
}

/// LayerNorm backward. Forward: xhat = (x - mean) * rstd, y = xhat * gamma + beta, where
/// x = input (+ residual) is recomputed here from the kept operands.
/// dx[rows,n] = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma (overwritten);
/// dGamma += Σ dy * xhat; dBeta += Σ dy.
public func layerNormBackward(
    dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
    dy: UnsafePointer<Float>, input: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
    gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    rows: Int, columns n: Int, portable: Bool = false
) {
    let threads = Parallel.threads
    // Per-thread partial sums for dGamma/dBeta, reduced after the parallel region.
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: threads * 2 * n)
    partial.initialize(repeating: 0, count: threads * 2 * n)
    defer { partial.deallocate() }
    Parallel.forRanges(rows, minChunk: max(1, 8192 / max(n, 1)), maxChunks: threads) { chunk, r in
        let pg = partial + chunk * 2 * n, pb = pg + n
        if VectorISA.level == .avx512 && !portable {
            ek_layernorm_backward_rows_avx512(dx + r.lowerBound * n, pg, pb, dy + r.lowerBound * n, input + r.lowerBound * n,
                                              residual.map { $0 + r.lowerBound * n }, gamma, mean + r.lowerBound,
                                              rstd + r.lowerBound, r.count, n)
            return
        }
        if VectorISA.level == .avx2 && !portable {
            ek_layernorm_backward_rows_avx2(dx + r.lowerBound * n, pg, pb, dy + r.lowerBound * n, input + r.lowerBound * n,
                                            residual.map { $0 + r.lowerBound * n }, gamma, mean + r.lowerBound,
                                            rstd + r.lowerBound, r.count, n)
            return
        }
        for row in r {
            let x = input + row * n, d = dy + row * n, o = dx + row * n
            let res = residual.map { $0 + row * n }
            let mu = mean[row], rs = rstd[row]
            var sumG: Float = 0, sumGX: Float = 0
            for i in 0..<n {
                let xv = res.map { x[i] + $0[i] } ?? x[i]
                let xhat = (xv - mu) * rs
                let g = d[i] * gamma[i]
                sumG += g
                sumGX += g * xhat
                pg[i] += d[i] * xhat
                pb[i] += d[i]
            }
            let mg = sumG / Float(n), mgx = sumGX / Float(n)
            // Recompute xhat rather than stash it, so dx may alias dy.
            for i in 0..<n {
                let xv = res.map { x[i] + $0[i] } ?? x[i]
                o[i] = rs * (d[i] * gamma[i] - mg - (xv - mu) * rs * mgx)
            }
        }
    }
    for t in 0..<threads {
        let pg = partial + t * 2 * n, pb = pg + n
        for i in 0..<n { dGamma[i] += pg[i]; dBeta[i] += pb[i] }
    }
}

extension Activation {
    /// d/dx of the activation at `pre`, times dy: dx = dy * f'(pre). `dx` may alias `dy`.
    /// Like `forward`, each case gets its own loop so the derivative is inlined.
    public func backward(
        dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, pre: UnsafePointer<Float>, count n: Int
    ) {
        switch self {
        case .gelu: Self.mapBackward(dx, dy, pre, n, GeluKernel.self)
        case .geluNew: Self.mapBackward(dx, dy, pre, n, GeluNewKernel.self)
        case .relu: Self.mapBackward(dx, dy, pre, n, ReluKernel.self)
        case .silu: Self.mapBackward(dx, dy, pre, n, SiluKernel.self)
        case .tanh: Self.mapBackward(dx, dy, pre, n, TanhKernel.self)
        case .sigmoid: Self.mapBackward(dx, dy, pre, n, SigmoidKernel.self)
        case .linear: if UnsafePointer(dx) != dy { dx.update(from: dy, count: n) }
        }
    }

    /// `portable` skips the kernel's AVX2 form (tests compare the two).
    @inline(__always)
    static func mapBackward<K: ActivationKernel>(
        _ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ pre: UnsafePointer<Float>, _ n: Int, _: K.Type,
        portable: Bool = false
    ) {
        let fast = portable ? nil : K.fastBackward
        Parallel.forChunks(n, minChunk: 16384) { _, r in
            if let fast {
                fast(pre + r.lowerBound, dy + r.lowerBound, dx + r.lowerBound, r.count)
                return
            }
            var i = r.lowerBound
            while i + vecWidth <= r.upperBound {
                storeVec(loadVec(dy + i) * K.derivative(loadVec(pre + i)), dx + i)
                i += vecWidth
            }
            let tail = r.upperBound - i
            if tail > 0 {
                storePartial(loadPartial(dy + i, tail, fill: 0) * K.derivative(loadPartial(pre + i, tail, fill: 0)), dx + i, tail)
            }
        }
    }
}

/// `softmaxRowBackward` for `rows` consecutive rows of n, in AVX-512 where the CPU has it.
public func softmaxRowsBackward(_ dx: UnsafeMutablePointer<Float>, dp: UnsafePointer<Float>, p: UnsafePointer<Float>, rows: Int, _ n: Int) {
    if VectorISA.level == .avx512 { return ek_softmax_backward_rows_avx512(dx, dp, p, rows, n) }
    for r in 0..<rows { softmaxRowBackward(dx + r * n, dp: dp + r * n, p: p + r * n, n) }
}

/// Softmax backward for one row: dx = p * (dp - Σ dp * p). `dx` may alias `dp`.
@inline(__always)
public func softmaxRowBackward(_ dx: UnsafeMutablePointer<Float>, dp: UnsafePointer<Float>, p: UnsafePointer<Float>, _ n: Int) {
    let dot = vdot(dp, p, n)
    var i = 0
    while i + vecWidth <= n {
        storeVec(loadVec(p + i) * (loadVec(dp + i) - dot), dx + i)
        i += vecWidth
    }
    while i < n { dx[i] = p[i] * (dp[i] - dot); i += 1 }
}
