#if canImport(Accelerate)
import Accelerate
#elseif canImport(CBLAS)
import CBLAS
#endif
import CVectorKernels

/// Row-major single-precision matrix product on the calling thread:
/// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
@inline(__always)
public func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    _ = BLASCore.choice  // OpenBLAS's kernels chosen from the CPU's features, once (BLASCore.swift)
    // One row or one column is a matrix-vector product. sgemm would still copy the whole
    // matrix into its panel layout first; sgemv reads it once, in place (one row through
    // [768 -> 768], one thread: 349 us against 137 us). Not for k = 0: sgemv then returns
    // without applying beta.
    if m == 1 && k > 0 {
        cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, Int32(transB ? n : k), Int32(transB ? k : n),
                    alpha, b, Int32(ldb), a, Int32(transA ? lda : 1), beta, c, 1)
        return
    }
    if n == 1 && k > 0 {
        cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, Int32(transA ? k : m), Int32(transA ? m : k),
                    alpha, a, Int32(lda), b, Int32(transB ? 1 : ldb), beta, c, Int32(ldc))
        return
    }
    if k == 0 {
        // C = beta C; libraries differ on whether an empty product still applies beta.
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 { row.update(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { row[j] *= beta } }
        }
        return
    }
    if GemmBackend.current == .onednn {
        _ = ek_onednn_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The same product split across `Parallel.threads`: along M when M is the larger side
/// (each chunk a block of C's rows), else along N. BLAS stays single-threaded inside.
/// One chunk per thread: each chunk re-packs the operand it shares with the others, and
/// cutting finer to balance a slower core cost more than it saved (BENCHMARKS.md).
/// `rowInit` [n], when given, is first written into every row of C (beta is then 1): each
/// chunk writes its own block just before BLAS accumulates into it, while it is in cache.
public func parallelSgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, rowInit: UnsafePointer<Float>? = nil
) {
    let beta: Float = rowInit == nil ? beta : 1
    forProductBlocks(m: m, n: n, k: k, c: c, ldc: ldc, rowInit: rowInit) { rows, columns, cb in
        sgemm(transA: transA, transB: transB, m: rows.count, n: columns.count, k: k, alpha: alpha,
              a: a + rows.lowerBound * (transA ? 1 : lda), lda: lda,
              b: b + columns.lowerBound * (transB ? ldb : 1), ldb: ldb, beta: beta, c: cb, ldc: ldc)
    }
}

/// Each of `rows` rows of the block at cb (stride ldc) starts as rowInit[columns].
@inline(__always)
func initRows(_ cb: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, from rowInit: UnsafePointer<Float>, columns: Range<Int>) {
    for r in 0..<rows { (cb + r * ldc).update(from: rowInit + columns.lowerBound, count: columns.count) }
}

/// The split of the parallel products (parallelSgemm, parallelBF16Gemm): C[M,N] in blocks
/// along M when M is the larger side, else along N, one per thread; inline below ~1 MFLOP,
/// where a thread hop costs more than it saves. `rowInit` [n], when given, is written into
/// each block's rows just before `product(rows, columns, blockOfC)` accumulates into them,
/// while they are in cache.
@inline(__always)
func forProductBlocks(
    m: Int, n: Int, k: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rowInit: UnsafePointer<Float>?,
    _ product: (Range<Int>, Range<Int>, UnsafeMutablePointer<Float>) -> Void
) {
    @inline(__always) func block(_ rows: Range<Int>, _ columns: Range<Int>) {
        let cb = c + rows.lowerBound * ldc + columns.lowerBound
        if let rowInit { initRows(cb, ldc: ldc, rows: rows.count, from: rowInit, columns: columns) }
        product(rows, columns, cb)
    }
    if Parallel.threads == 1 || m * n * k < 1 << 19 {
        block(0..<m, 0..<n)
        return
    }
    if m >= n {
        Parallel.forChunks(m, minChunk: 16, perThread: 1) { _, r in block(r, 0..<n) }
    } else {
        Parallel.forChunks(n, minChunk: 16, perThread: 1) { _, r in block(0..<m, r) }
    }
}

/// y[M,out] = x[M,in] · W[out,in]^T (+ bias[out]). The layout of an HF `nn.Linear`.
public func linearForward(
    _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows m: Int, inFeatures: Int, outFeatures: Int
) {
    // C starts at the bias and BLAS accumulates (beta 1): OpenBLAS would otherwise spend a
    // pass zeroing C for beta 0, and a bias pass would follow.
    parallelSgemm(transA: false, transB: true, m: m, n: outFeatures, k: inFeatures,
                  alpha: 1, a: x, lda: inFeatures, b: weight, ldb: inFeatures,
                  beta: 0, c: y, ldc: outFeatures, rowInit: bias)
}

/// y[M,out] = x[M,in] · Wt[in,out] (+ bias[out]): the same product with the weight stored
/// transposed. OpenBLAS then packs the weight with its contiguous copy routine instead of
/// gathering 16 strided rows, which is most of the time when rows are few (InferenceLayout.swift).
public func linearForwardTransposed(
    _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
    weightTransposed wt: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows m: Int, inFeatures: Int, outFeatures: Int
) {
    parallelSgemm(transA: false, transB: false, m: m, n: outFeatures, k: inFeatures,
                  alpha: 1, a: x, lda: inFeatures, b: wt, ldb: outFeatures,
                  beta: 0, c: y, ldc: outFeatures, rowInit: bias)
}

/// Name of the BLAS kernel set in use (for benchmark reports).
public var blasCoreName: String {
    #if canImport(Accelerate)
    return "Accelerate"
    #elseif canImport(CBLAS)
    return String(cString: openblas_get_corename())
    #else
    return "unknown"
    #endif
}

/// dst[cols, rows] = src[rows, cols]ᵀ, both dense row-major (checkpoint kernels stored
/// [in, out] becoming PyTorch's [out, in]). BLAS's tuned copy: about 3x a blocked Swift loop.
public func transpose(_ src: UnsafePointer<Float>, rows: Int, columns: Int, into dst: UnsafeMutablePointer<Float>) {
    guard rows > 0, columns > 0 else { return }
    #if canImport(Accelerate)
    vDSP_mtrans(src, 1, dst, 1, vDSP_Length(columns), vDSP_Length(rows))
    #elseif canImport(CBLAS)
    cblas_somatcopy(CblasRowMajor, CblasTrans, blasint(rows), blasint(columns), 1, src, blasint(columns), dst, blasint(rows))
    #else
    for i in 0..<rows { for j in 0..<columns { dst[j * rows + i] = src[i * columns + j] } }
    #endif
}
