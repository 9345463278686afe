import CVectorKernels
import Foundation

/// Which kernel runs bf16 products (bf16 operands, fp32 accumulation and output).
///
/// - `onednn`: oneDNN's `dnnl_gemm_bf16bf16f32`, on AMX tiles (measured on Emerald Rapids, one
///   core: 150-480 GFLOP/s on the encoder's shapes against 70-100 for fp32) or AVX512-BF16
///   (slower than our fp32 there: `route`), when the CPU has either and oneDNN is installed
///   (OneDNN.c loads it at run time).
/// - `portable`: the operands, already rounded to bf16, widened back to fp32 and multiplied by
///   the fp32 product. The same rounding of the operands, so the numerics can be tested on any
///   CPU; it saves the memory of bf16 weights, not time (the widening adds some), so a user's
///   bf16 request runs in fp32 there instead (`Route`).
///
/// `ELECTRA_BF16=portable` forces the portable path; `ELECTRA_MAX_ISA` below avx512 too. Which of
/// them a user's bf16 request runs on, or whether it runs in fp32, is `route`.
public enum BF16Kernel: String, Sendable {
    case onednn
    case portable

    public static let current: BF16Kernel = choose()

    /// Whether the CPU computes bf16 products natively (AMX-BF16 or AVX512-BF16).
    public static var cpuHasBF16: Bool {
        CPUFeatures.current.contains(.amxBF16) || CPUFeatures.current.contains(.avx512bf16)
    }

    static func choose() -> BF16Kernel {
        if portableRequested { return .portable }
        guard VectorISA.level == .avx512, cpuHasBF16, GemmBackend.oneDNNAvailable, ek_onednn_has_bf16() != 0 else {
            return .portable
        }
        return .onednn
    }

    /// Whether `ELECTRA_BF16=portable` asked for the portable path (bf16's rounding on any CPU).
    public static let portableRequested = ProcessInfo.processInfo.environment["ELECTRA_BF16"]?.lowercased() == "portable"

    /// Whether `ELECTRA_BF16=onednn` asked for oneDNN's bf16 products where the route would
    /// otherwise be fp32 (AVX512-BF16 without AMX), to measure them.
    public static let onednnRequested = ProcessInfo.processInfo.environment["ELECTRA_BF16"]?.lowercased() == "onednn"

    /// How a user's request for bf16 (`--dtype bf16`, `PipelineOptions.dtype`) runs on this CPU.
    /// Asking for bf16 is never slower than fp32:
    /// - without native bf16 products the portable path widens the operands back to fp32 for
    ///   every product (slower than fp32, and no more accurate);
    /// - with AVX512-BF16 but no AMX, oneDNN's bf16 products ran at 0.62x (small B32 L128) and
    ///   0.54x (base B8 L128) of our fp32 on an Emerald Rapids VM without AMX (issue 28's
    ///   measurement), and no kernel can do much better: on Sapphire/Emerald Rapids vdpbf16ps
    ///   is 4 uops on the two FMA ports every 2 cycles, half the fp32 FMAs' multiply-adds
    ///   (LLVM's scheduling model; scripts/bench/bf16_instruction_cost.sh);
    /// so such requests run in fp32, unless `ELECTRA_BF16=portable` or `ELECTRA_BF16=onednn`
    /// asks for the bf16 products. `setInferenceDType(.bf16)` itself stays literal.
    public enum Route: String, Sendable {
        /// bf16 products through oneDNN (AMX-BF16; AVX512-BF16 when asked for).
        case native
        /// The portable path, asked for by `ELECTRA_BF16=portable`.
        case portable
        /// The products run in fp32.
        case fp32
    }

    public static let route: Route =
        current == .portable ? (portableRequested ? .portable : .fp32)
        : CPUFeatures.current.contains(.amxBF16) || onednnRequested ? .native : .fp32

    /// Why a bf16 request does not run natively here (or runs on the portable kernel).
    static var notNativeReason: String {
        if current == .onednn { return "this CPU has AVX512-BF16 but no AMX-BF16, where bf16 products do no more multiply-adds per cycle than fp32 FMAs (oneDNN's measured 0.54-0.62x of fp32); ELECTRA_BF16=onednn uses them anyway" }
        return !cpuHasBF16 ? "this CPU has no AMX-BF16 or AVX512-BF16"
            : !GemmBackend.oneDNNAvailable ? "oneDNN (libdnnl) is not installed"
            : portableRequested ? "ELECTRA_BF16=portable asked for it" : "ELECTRA_MAX_ISA caps the kernels below AVX-512"
    }

    /// For `electra info` and `bench`: the route a bf16 request takes and why.
    public static var summary: String {
        switch route {
        case .native:
            let unit = CPUFeatures.current.contains(.amxBF16) ? "AMX-BF16" : "AVX512-BF16"
            let via = bf16UsesMatmulPrimitive ? "matmul primitive for K <= \(matmulMaxK), gemm beyond" : "gemm"
            return "\(GemmBackend.oneDNNVersion ?? "oneDNN") bf16 products (\(unit); \(via))"
        case .portable:
            return "portable bf16 (operands rounded to bf16, products in fp32: \(notNativeReason))"
        case .fp32:
            return "bf16 requests run in fp32 (\(notNativeReason)\(current == .portable ? "; the portable bf16 path, ELECTRA_BF16=portable, is slower than fp32" : ""))"
        }
    }

    /// What a command prints when bf16 is asked for and does not run natively; nil on the native route.
    public static var requestNote: String? {
        switch route {
        case .native: nil
        case .portable: "bf16 runs on the \(summary); it saves weight memory but not time here"
        case .fp32: "--dtype bf16: the products run in fp32 here, since bf16 would be slower (\(notNativeReason)); ELECTRA_BF16=portable runs bf16's rounding anyway"
        }
    }
}

/// Whether fp32 -> bf16 runs on AVX512-BF16's vcvtne2ps2bf16 (same bits as the portable loop).
public let bf16ConversionIsNative = VectorISA.level == .avx512 && CPUFeatures.current.contains(.avx512bf16)

/// dst[i] = bf16(src[i]) (round to nearest even; NaN stays NaN), split across threads when long.
public func convertToBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
    let run: (UnsafePointer<Float>, UnsafeMutablePointer<UInt16>, Int) -> Void =
        bf16ConversionIsNative ? { ek_f32_to_bf16_avx512bf16($0, $1, $2) } : { ek_f32_to_bf16($0, $1, $2) }
    if count < 1 << 16 {
        run(src, dst, count)
        return
    }
    Parallel.forRanges(count, minChunk: 1 << 15) { _, r in run(src + r.lowerBound, dst + r.lowerBound, r.count) }
}

/// dst[i] = the fp32 value of bf16 src[i] (exact).
public func convertFromBF16(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    if VectorISA.level == .avx512 { ek_bf16_to_f32_avx512(src, dst, count) } else { ek_bf16_to_f32(src, dst, count) }
}

/// Row-major bf16 product on the calling thread, fp32 accumulation and output:
/// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, A and B bf16 bits. `kernel` is for
/// tests (.onednn only where `BF16Kernel.current` is).
public func bf16gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<UInt16>, lda: Int,
    b: UnsafePointer<UInt16>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, kernel: BF16Kernel = .current
) {
    if m == 0 || n == 0 { return }
    if k > 0 && kernel == .onednn {
        _ = ek_onednn_gemm_bf16(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    // Portable (and k = 0, where sgemm applies beta itself): widen the operands as stored.
    let aRows = transA ? k : m, aColumns = transA ? m : k
    let bRows = transB ? n : k, bColumns = transB ? k : n
    ScratchPool.shared.with(bytes: 4 * (aRows * aColumns + bRows * bColumns)) { raw in
        let wa = raw.assumingMemoryBound(to: Float.self), wb = wa + aRows * aColumns
        for r in 0..<aRows { convertFromBF16(a + r * lda, wa + r * aColumns, count: aColumns) }
        for r in 0..<bRows { convertFromBF16(b + r * ldb, wb + r * bColumns, count: bColumns) }
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: wa, lda: aColumns,
              b: wb, ldb: bColumns, beta: beta, c: c, ldc: ldc)
    }
}

/// Whether bf16 products with K up to `matmulMaxK` go through oneDNN's matmul primitive
/// (brgemm AMX kernels, the bias added in the same pass; OneDNNMatmul.c) rather than its gemm
/// API. Measured on Emerald Rapids, one core: 1.4-1.9x the gemm API at K 256-768, equal at
/// K 1024, slower beyond (weight gradients, K = rows). `ELECTRA_BF16_MATMUL=0` turns it off.
public let bf16UsesMatmulPrimitive: Bool = BF16Kernel.current == .onednn
    && ProcessInfo.processInfo.environment["ELECTRA_BF16_MATMUL"] != "0" && ek_onednn_matmul_available() != 0
let matmulMaxK = 1024

/// `bf16gemm` split across threads as `parallelSgemm` is (`forProductBlocks`); each row of C
/// starts at `rowInit` (beta 1) when given, e.g. a Linear's bias.
public func parallelBF16Gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<UInt16>, lda: Int,
    b: UnsafePointer<UInt16>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, rowInit: UnsafePointer<Float>? = nil
) {
    // (alpha with a bias is left to the gemm API: oneDNN 2.x's output scales would scale the bias too.)
    let primitive = bf16UsesMatmulPrimitive && (beta == 0 || beta == 1) && !transA && k <= matmulMaxK
        && (alpha == 1 || rowInit == nil)
    let beta: Float = rowInit == nil ? beta : 1
    forProductBlocks(m: m, n: n, k: k, c: c, ldc: ldc, rowInit: primitive ? nil : rowInit) { rows, columns, cb in
        let ab = a + rows.lowerBound * (transA ? 1 : lda), bb = b + columns.lowerBound * (transB ? ldb : 1)
        if primitive {
            // The bias rides in the primitive (rowInit's pass over C saved); beta 1 without
            // a bias is the sum post-op.
            let bias = rowInit.map { $0 + columns.lowerBound }
            let accumulate: Int32 = rowInit == nil && beta == 1 ? 1 : 0
            if ek_onednn_matmul_bf16(0, transB ? 1 : 0, rows.count, columns.count, k, alpha, ab, lda, bb, ldb,
                                     accumulate, cb, ldc, bias) == 0 { return }
            if let rowInit { initRows(cb, ldc: ldc, rows: rows.count, from: rowInit, columns: columns) }
        }
        bf16gemm(transA: transA, transB: transB, m: rows.count, n: columns.count, k: k, alpha: alpha,
                 a: ab, lda: lda, b: bb, ldb: ldb, beta: beta, c: cb, ldc: ldc)
    }
}

/// A weight kept in bf16 for inference: HF's [out, in] layout, rounded once.
public final class BF16Weight: @unchecked Sendable {
    public let rows: Int, columns: Int
    public let values: UnsafeMutablePointer<UInt16>

    /// weight: [rows, columns] fp32.
    public init(weight: UnsafePointer<Float>, rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        values = .allocate(capacity: max(1, rows * columns))
        convertToBF16(weight, values, count: rows * columns)
    }

    /// Rounds `weight` (same shape) again into this copy: training refreshes it after every
    /// optimizer step without allocating.
    public func refill(from weight: UnsafePointer<Float>) -> BF16Weight {
        convertToBF16(weight, values, count: rows * columns)
        return self
    }

    deinit { values.deallocate() }

    public var byteCount: Int { 2 * rows * columns }

    /// y [m, rows] = bf16(x) [m, columns] · Wᵀ (+ bias), fp32 accumulation.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows m: Int, bias: UnsafePointer<Float>?) {
        ScratchPool.shared.with(bytes: 2 * m * columns) { raw in
            let xb = raw.assumingMemoryBound(to: UInt16.self)
            convertToBF16(x, xb, count: m * columns)
            product(y, xb, rows: m, bias: bias)
        }
    }

    /// y [m, rows] = xb [m, columns] · Wᵀ (+ bias), xb already bf16.
    private func product(_ y: UnsafeMutablePointer<Float>, _ xb: UnsafePointer<UInt16>, rows m: Int, bias: UnsafePointer<Float>?) {
        parallelBF16Gemm(transA: false, transB: true, m: m, n: rows, k: columns, alpha: 1, a: xb, lda: columns,
                         b: values, ldb: columns, beta: 0, c: y, ldc: rows, rowInit: bias)
    }

    /// y [m, rows] = bf16(activation(x)) [m, columns] · Wᵀ (+ bias): x holds the
    /// pre-activation and is overwritten with the activation where the rounding cannot be
    /// fused. On AVX512-BF16 GELU and the rounding are one pass (the fp32 activation is never
    /// written), with the same bits as the two passes.
    public func forward(_ y: UnsafeMutablePointer<Float>, activating x: UnsafeMutablePointer<Float>, _ activation: Activation,
                        rows m: Int, bias: UnsafePointer<Float>?) {
        ScratchPool.shared.with(bytes: 2 * m * columns) { raw in
            let xb = raw.assumingMemoryBound(to: UInt16.self)
            if activation == .gelu && bf16ConversionIsNative {
                let c = columns
                Parallel.forChunks(m, minChunk: max(1, 4096 / max(c, 1))) { _, r in
                    ek_gelu_to_bf16_avx512bf16(x + r.lowerBound * c, nil, xb + r.lowerBound * c, r.count * c)
                }
            } else {
                activation.forward(x, rows: m, columns: columns)
                convertToBF16(x, xb, count: m * columns)
            }
            product(y, xb, rows: m, bias: bias)
        }
    }

    /// The backward of `forward` with bf16 operands and fp32 accumulation: dx [m, columns]
    /// = bf16(dy) · W (+= when `accumulate`, skipped when nil), dWeight [rows, columns] +=
    /// bf16(dy)ᵀ · bf16(x), dBias += Σ dy in fp32.
    public func backward(
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dWeight: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, rows m: Int
    ) {
        let n = rows, k = columns
        ScratchPool.shared.with(bytes: 2 * m * (n + k)) { raw in
            let dyb = raw.assumingMemoryBound(to: UInt16.self), xb = dyb + m * n
            convertToBF16(dy, dyb, count: m * n)
            convertToBF16(x, xb, count: m * k)
            if let dx {
                parallelBF16Gemm(transA: false, transB: false, m: m, n: k, k: n, alpha: 1, a: dyb, lda: n,
                                 b: values, ldb: k, beta: accumulate ? 1 : 0, c: dx, ldc: k)
            }
            parallelBF16Gemm(transA: true, transB: false, m: n, n: k, k: m, alpha: 1, a: dyb, lda: n,
                             b: xb, ldb: k, beta: 1, c: dWeight, ldc: k)
        }
        if let dBias { addColumnSums(dBias, dy, rows: m, columns: n) }
    }
}
