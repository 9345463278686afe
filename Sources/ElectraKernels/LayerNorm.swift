import CVectorKernels

/// LayerNorm over the last dimension, fp32, biased variance, as torch.nn.LayerNorm.
/// out[r,:] = (x - mean) / sqrt(var + eps) * gamma + beta, where x = input (+ residual).
/// `mean`/`rstd` [rows] are written when given (the backward pass needs them).
/// `out` may alias `input`. Rows run in AVX-512 or AVX2 C where the CPU has it; `portable` forces the
/// Swift SIMD loop (the reference the C form is tested against).
public func layerNormForward(
    _ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
    residual: UnsafePointer<Float>? = nil,
    gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    rows: Int, columns n: Int, eps: Float,
    mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil, portable: Bool = false
) {
    Parallel.forChunks(rows, minChunk: max(1, 16384 / max(n, 1))) { _, r in
        if VectorISA.level == .avx512 && !portable {
            ek_layernorm_rows_avx512(out + r.lowerBound * n, input + r.lowerBound * n, residual.map { $0 + r.lowerBound * n },
                                     gamma, beta, r.count, n, eps, mean.map { $0 + r.lowerBound }, rstd.map { $0 + r.lowerBound })
            return
        }
        if VectorISA.level == .avx2 && !portable {
            ek_layernorm_rows_avx2(out + r.lowerBound * n, input + r.lowerBound * n, residual.map { $0 + r.lowerBound * n },
                                   gamma, beta, r.count, n, eps, mean.map { $0 + r.lowerBound }, rstd.map { $0 + r.lowerBound })
            return
        }
        for row in r {
            let x = input + row * n
            let o = out + row * n
            // Fold the residual into the output row first (the pre-norm sum is not kept).
            if let residual {
                let res = residual + row * n
                var i = 0
                while i + vecWidth <= n { storeVec(loadVec(x + i) + loadVec(res + i), o + i); i += vecWidth }
                while i < n { o[i] = x[i] + res[i]; i += 1 }
            } else if UnsafePointer(o) != x {
                o.update(from: x, count: n)
            }
            let mu = vsum(o, n) / Float(n)
            var accv = Vec()
            var i = 0
            while i + vecWidth <= n { let d = loadVec(o + i) - mu; accv += d * d; i += vecWidth }
            var acc = accv.sum()
            while i < n { let d = o[i] - mu; acc += d * d; i += 1 }
            let rs = 1 / (acc / Float(n) + eps).squareRoot()
            mean?[row] = mu
            rstd?[row] = rs
            i = 0
            while i + vecWidth <= n {
                let v = (loadVec(o + i) - mu) * rs
                storeVec(v * loadVec(gamma + i) + loadVec(beta + i), o + i)
                i += vecWidth
            }
            while i < n { o[i] = (o[i] - mu) * rs * gamma[i] + beta[i]; i += 1 }
        }
    }
}
