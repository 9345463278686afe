#if canImport(Accelerate)
import Accelerate
#elseif canImport(CBLAS)
import CBLAS
#endif

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
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The same product split across `Parallel.threads`: along M when M is the larger side
/// (each chunk a block of C's rows), else along N. BLAS stays single-threaded inside.
/// Each chunk re-packs the operand it shares with the others (about 10/rows of the chunk's
/// time on this machine), so a side is cut finer than one chunk per thread (for balance,
/// see `Parallel.forChunks`) only while chunks keep 256+ rows or columns.
public func parallelSgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let threads = Parallel.threads
    // Below ~1 MFLOP a thread hop costs more than it saves.
    if threads == 1 || m * n * k < 1 << 19 {
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
              b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let side = max(m, n)
    let perThread = min(4, max(1, side / (threads * 256)))
    if m >= n {
        Parallel.forChunks(m, minChunk: 16, perThread: perThread) { _, r in
            sgemm(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                  a: a + (transA ? r.lowerBound : r.lowerBound * lda), lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
        }
    } else {
        Parallel.forChunks(n, minChunk: 16, perThread: perThread) { _, r in
            sgemm(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha,
                  a: a, lda: lda,
                  b: b + (transB ? r.lowerBound * ldb : r.lowerBound), ldb: ldb,
                  beta: beta, c: c + r.lowerBound, ldc: ldc)
        }
    }
}

/// y[M,out] = x[M,in] · W[out,in]^T (+ bias[out]). The layout of an HF `nn.Linear`.
/// `yStride` is the row stride of y (default `outFeatures`; larger to write into columns of
/// a wider buffer).
public func linearForward(
    _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows m: Int, inFeatures: Int, outFeatures: Int, yStride: Int? = nil
) {
    let ldy = yStride ?? outFeatures
    // Start C at the bias and accumulate (beta 1): one write pass instead of BLAS zeroing C
    // (beta 0) plus a separate bias pass.
    if let bias { fillRows(y, bias, rows: m, columns: outFeatures, stride: ldy) }
    parallelSgemm(transA: false, transB: true, m: m, n: outFeatures, k: inFeatures,
                  alpha: 1, a: x, lda: inFeatures, b: weight, ldb: inFeatures,
                  beta: bias == nil ? 0 : 1, c: y, ldc: ldy)
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
