import CVectorKernels

/// Inference attention with bf16 products (the model set to bf16): the fused Q|K|V rounded
/// to bf16 once, then per (batch, head) scores = mask + alpha Q Kᵀ and ctx = E V / Σ E with
/// bf16 operands and fp32 accumulation, as PyTorch's bf16 autocast runs its attention
/// matmuls; the mask, the exponentials and their sums stay fp32 (the softmax of autocast).
/// E (the unnormalised probabilities) is rounded to bf16 for the second product.
///
/// Only the case that needs no probabilities afterwards: no kept `probs`, no dropout, no
/// relative positions (`attentionForward` runs those in fp32). Shapes as `attentionForward`;
/// scratch rows must hold L*L floats + L*L/2 (the bf16 E) + L sums, which scratchPerThread does.
public func attentionForwardBF16(
    qkv: UnsafePointer<Float>, ldqkv: Int, ctx: UnsafeMutablePointer<Float>,
    maskBias: UnsafePointer<Float>, shape s: AttentionShape,
    scratch: UnsafeMutablePointer<Float>, scratchRows: Int
) {
    let L = s.length, d = s.headDim, H = s.hidden, rows = s.batch * L
    let alpha = 1 / Float(d).squareRoot()
    ScratchPool.shared.with(bytes: 2 * rows * ldqkv) { raw in
        let qkvb = raw.assumingMemoryBound(to: UInt16.self)
        convertToBF16(qkv, qkvb, count: rows * ldqkv)
        Parallel.forChunks(s.batch * s.heads, maxThreads: scratchRows) { worker, range in
            let mine = scratch + worker * s.scratchPerThread
            let sums = mine + s.scratchPerThread - L
            let eb = UnsafeMutableRawPointer(mine + L * L).assumingMemoryBound(to: UInt16.self)
            for bh in range {
                let b = bh / s.heads, h = bh % s.heads
                let qb = qkvb + b * L * ldqkv + h * d, kb = qb + H, vb = qb + 2 * H
                let scores = mine, bias = maskBias + b * L
                for l in 0..<L { (scores + l * L).update(from: bias, count: L) }
                bf16Product(transB: true, m: L, n: L, k: d, alpha: alpha, a: qb, lda: ldqkv, b: kb, ldb: ldqkv,
                            accumulate: true, c: scores, ldc: L)
                for l in 0..<L { sums[l] = expShiftedRow(scores + l * L, L) }
                convertToBF16(scores, eb, count: L * L)
                let out = ctx + b * L * H + h * d
                bf16Product(transB: false, m: L, n: d, k: L, alpha: 1, a: eb, lda: L, b: vb, ldb: ldqkv,
                            accumulate: false, c: out, ldc: H)
                for l in 0..<L { scaleRow(out + l * H, d, by: 1 / sums[l]) }
            }
        }
    }
}

extension AttentionShape {
    /// Below this length the per-head products are too small for bf16 to repay the roundings
    /// and calls: inference attention stays fp32 there.
    public static let bf16MinLength = 32
}

/// One bf16 product on the calling thread: the matmul primitive where it runs, else `bf16gemm`.
@inline(__always)
func bf16Product(
    transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<UInt16>, lda: Int,
    b: UnsafePointer<UInt16>, ldb: Int, accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if bf16UsesMatmulPrimitive && k <= matmulMaxK
        && ek_onednn_matmul_bf16(0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, accumulate ? 1 : 0, c, ldc, nil) == 0 {
        return
    }
    bf16gemm(transA: false, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: accumulate ? 1 : 0, c: c, ldc: ldc)
}
