import CVectorKernels

/// fp32 products for few rows against weights packed once into panels of 16 outputs
/// (CVectorKernels/PanelGemm.c). With few rows OpenBLAS repacks the whole weight on every
/// call (B1 L16: sgemm_itcopy 32% of the forward, the kernel 33%); packed once, weights go
/// straight into FMAs. Measured on Emerald Rapids, one thread, against OpenBLAS's
/// Cooperlake kernels with the best of its two layouts: 1.2-3x faster up to 32 rows, even at
/// 64, 0.75-0.9x from 128 rows (BENCHMARKS.md). So: AVX-512 only (the AVX2 form, measured
/// 2-4x slower than OpenBLAS there, is not used) and at most `maxRows` rows.
public enum PanelGemm {
    /// Whether the inference weight layout packs panels (else it keeps an [in, out] copy).
    public static let enabled = VectorISA.level == .avx512
    public static let maxRows = 48

    /// Floats of the packed form of an [n, k] weight.
    public static func count(rows n: Int, columns k: Int) -> Int { (n + 15) / 16 * 16 * k }

    public static func pack(_ w: UnsafePointer<Float>, rows n: Int, columns k: Int, into panels: UnsafeMutablePointer<Float>) {
        ek_pack_panels_f32(w, n, k, panels)
    }

    /// y[m, n] = x[m, k] · Wᵀ (+ bias), panels of 4 across threads.
    public static func forward(
        _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, panels: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows m: Int, inFeatures k: Int, outFeatures n: Int
    ) {
        let blocks = (n + 15) / 16, groups = (blocks + 3) / 4
        Parallel.forRanges(groups, minChunk: 1) { _, r in
            ek_panels_avx512(x, m, k, k, panels, r.lowerBound * 4, min(r.upperBound * 4, blocks), bias, y, n)
        }
    }
}
