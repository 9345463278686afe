import CVectorKernels
import Foundation

/// A weight matrix quantized once for int8 inference (dynamic quantization, as ONNX Runtime's
/// quantize_dynamic and PyTorch's quantize_dynamic do): weights symmetric per output channel
/// (s8, scale max|w_j| / 127), activations per row at run time (u8 with zero point 128, scale
/// max|x_i| / 127), int32 sums, then y = (sum - 128 Σ_k w_q) · scale_x · scale_w + bias.
/// The products run on AVX512-VNNI (vpdpbusd), AVX-VNNI (its ymm form), or AVX2 (vpmaddwd on
/// int16), else portable C.
public final class QuantizedWeight: @unchecked Sendable {
    public let rows: Int, columns: Int
    /// columns rounded up to 4 (a VNNI group), output blocks of 16.
    let kp: Int, blocks: Int
    /// The kernel the weights are packed for (its layout).
    let kernel: Int8Kernel
    let packed: UnsafeMutablePointer<Int8>
    let scales: [Float]
    /// 128 Σ_k w_q[j, k]: what the zero point adds to each output's sum.
    let correction: [Int32]

    /// weight: [rows, columns] fp32 (HF's [out, in]).
    public convenience init(weight: UnsafePointer<Float>, rows n: Int, columns k: Int) {
        self.init(weight: weight, rows: n, columns: k, kernel: .current)
    }

    init(weight: UnsafePointer<Float>, rows n: Int, columns k: Int, kernel: Int8Kernel) {
        self.kernel = kernel
        rows = n
        columns = k
        kp = (k + 3) & ~3
        blocks = (n + 15) / 16
        var q = [Int8](repeating: 0, count: n * k)
        var scales = [Float](repeating: 1, count: n), correction = [Int32](repeating: 0, count: n)
        for j in 0..<n {
            let row = weight + j * k
            var peak: Float = 0
            for t in 0..<k { peak = max(peak, abs(row[t])) }
            let s = peak > 0 ? peak / 127 : 1
            var sum: Int32 = 0
            for t in 0..<k {
                let v = Int8(max(-127, min(127, (row[t] / s).rounded(.toNearestOrEven))))
                q[j * k + t] = v
                sum += Int32(v)
            }
            scales[j] = s
            correction[j] = 128 * sum
        }
        self.scales = scales
        self.correction = correction
        packed = .allocate(capacity: blocks * 16 * kp)
        q.withUnsafeBufferPointer { kernel.pack($0.baseAddress!, n, k, packed) }
    }

    /// The quantized weight w_q[j, t], read back from the packed layout (for tests).
    func quantized(_ j: Int, _ t: Int) -> Int8 {
        let block = packed + (j / 16) * 16 * kp
        return kernel == .avx2 ? block[(t / 2) * 32 + (j % 16) * 2 + t % 2] : block[(t / 4) * 64 + (j % 16) * 4 + t % 4]
    }

    deinit { packed.deallocate() }

    public var byteCount: Int { blocks * 16 * kp + rows * 8 }

    /// y [m, rows] = x [m, columns] · Wᵀ (+ bias), through int8: rows quantized, then the
    /// product with the dequantization fused into its stores, output blocks across threads.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows m: Int, bias: UnsafePointer<Float>?) {
        let k = columns, kp = kp, n = rows, kernel = kernel
        let rowBytes = kp * kernel.activationBytes
        ScratchPool.shared.with(bytes: m * rowBytes + m * 4) { raw in
            let a = UnsafeMutableRawPointer(raw)
            let rowScale = (raw + m * rowBytes).assumingMemoryBound(to: Float.self)  // kp is a multiple of 4
            Parallel.forRanges(m, minChunk: 16) { _, r in
                kernel.quantize(x + r.lowerBound * k, r.count, k, k, a + r.lowerBound * rowBytes, kp, rowScale + r.lowerBound)
            }
            scales.withUnsafeBufferPointer { ws in
                correction.withUnsafeBufferPointer { corr in
                    Parallel.forRanges(blocks, minChunk: 1) { _, r in
                        kernel.product(a, m, kp, packed, r.lowerBound, r.upperBound, corr.baseAddress!, ws.baseAddress!,
                                       rowScale, bias, y, n)
                    }
                }
            }
        }
    }
}

/// Reusable scratch memory for kernels that need a buffer per call (int8's quantized rows):
/// buffers are handed out and taken back, so steady-state forwards allocate nothing (fresh
/// megabyte buffers cost page faults on every call).
final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()
    private let lock = NSLock()
    private var free: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []

    func with<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        lock.lock()
        let buffer: (pointer: UnsafeMutableRawPointer, bytes: Int)
        if let i = free.firstIndex(where: { $0.bytes >= bytes }) {
            buffer = free.remove(at: i)
        } else {
            buffer = (UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64), max(bytes, 64))
        }
        lock.unlock()
        defer {
            lock.lock()
            free.append(buffer)
            lock.unlock()
        }
        return try body(buffer.pointer)
    }
}

/// Which int8 product kernel runs: the CPU's best, capped like the fp32 kernels by
/// ELECTRA_MAX_ISA (avx2: AVX-VNNI where the CPU has it, else the AVX2 one; sse: the portable
/// C loop).
public enum Int8Kernel: String, Sendable {
    case vnni = "AVX512-VNNI"
    case avxvnni = "AVX-VNNI"
    case avx2 = "AVX2 (vpmaddwd)"
    case portable = "portable C"
    /// The AVX-VNNI kernel with a scalar model of vpdpbusd, on AVX2 alone: tests run it where
    /// the CPU lacks AVX-VNNI (never chosen to run a model).
    case avxvnniModel = "AVX-VNNI (scalar model, tests)"

    public static let current: Int8Kernel = {
        let f = CPUFeatures.current
        if VectorISA.level == .avx512 && f.contains(.avx512vnni) { return .vnni }
        if VectorISA.level >= .avx2 && f.contains(.avxVNNI) { return .avxvnni }
        if VectorISA.level >= .avx2 { return .avx2 }
        return .portable
    }()

    /// Why int8 saves no time on this kernel, for a command's warning; nil where it is faster
    /// than fp32. AVX2's vpmaddwd does 16 multiply-adds per instruction against an FMA's 8, at
    /// the same issue rate on a Zen 3 (1.29-1.56x fp32 there, BENCHMARKS.md session 17); only
    /// the portable loop is slower.
    public var slowerWarning: String? {
        switch self {
        case .vnni, .avxvnni, .avxvnniModel, .avx2: nil
        case .portable: "this CPU has no AVX2 (or ELECTRA_MAX_ISA=sse caps it): int8 runs on the portable loop, which saves memory but is slower than fp32 here"
        }
    }

    /// Bytes per quantized activation: u8, or int16 holding the u8 value for vpmaddwd.
    var activationBytes: Int { self == .avx2 ? 2 : 1 }

    /// Packs s8 weights [n, k] into this kernel's layout (blocks of 16 outputs, 16 * kp bytes each).
    func pack(_ w: UnsafePointer<Int8>, _ n: Int, _ k: Int, _ packed: UnsafeMutablePointer<Int8>) {
        if self == .avx2 { ek_pack_s8_avx2(w, n, k, packed) } else { ek_pack_s8_vnni(w, n, k, packed) }
    }

    /// Rows of x [m, k] (stride ldx) into quantized rows of kp activations at `a`, and their scales.
    func quantize(_ x: UnsafePointer<Float>, _ m: Int, _ k: Int, _ ldx: Int, _ a: UnsafeMutableRawPointer, _ kp: Int,
                  _ scales: UnsafeMutablePointer<Float>) {
        switch self {
        case .vnni: ek_quantize_rows_u8_avx512(x, m, k, ldx, a.assumingMemoryBound(to: UInt8.self), kp, scales)
        case .avxvnni, .avxvnniModel: ek_quantize_rows_u8_avx2(x, m, k, ldx, a.assumingMemoryBound(to: UInt8.self), kp, scales)
        case .avx2: ek_quantize_rows_u16_avx2(x, m, k, ldx, a.assumingMemoryBound(to: UInt16.self), kp, scales)
        case .portable: ek_quantize_rows_u8(x, m, k, ldx, a.assumingMemoryBound(to: UInt8.self), kp, scales)
        }
    }

    /// The product with dequantization fused, for output blocks [blockBegin, blockEnd).
    func product(_ a: UnsafeRawPointer, _ m: Int, _ kp: Int, _ packed: UnsafePointer<Int8>, _ blockBegin: Int, _ blockEnd: Int,
                 _ corr: UnsafePointer<Int32>, _ ws: UnsafePointer<Float>, _ rs: UnsafePointer<Float>,
                 _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .vnni:
            ek_qgemm_avx512vnni(a.assumingMemoryBound(to: UInt8.self), m, kp, packed, blockBegin, blockEnd, corr, ws, rs, bias, y, n)
        case .avxvnni:
            ek_qgemm_avxvnni(a.assumingMemoryBound(to: UInt8.self), m, kp, packed, blockBegin, blockEnd, corr, ws, rs, bias, y, n)
        case .avxvnniModel:
            ek_qgemm_avxvnni_model(a.assumingMemoryBound(to: UInt8.self), m, kp, packed, blockBegin, blockEnd, corr, ws, rs, bias, y, n)
        case .avx2:
            ek_qgemm_u16s8_avx2(a.assumingMemoryBound(to: UInt16.self), m, kp, packed, blockBegin, blockEnd, corr, ws, rs, bias, y, n)
        case .portable:
            ek_qgemm_portable(a.assumingMemoryBound(to: UInt8.self), m, kp, packed, blockBegin, blockEnd, corr, ws, rs, bias, y, n)
        }
    }

    /// The raw int32 sums (tests compare them across kernels, exactly); lda in activations.
    func sums(_ a: UnsafeRawPointer, _ m: Int, _ kp: Int, _ lda: Int, _ packed: UnsafePointer<Int8>, _ blockBegin: Int,
              _ blockEnd: Int, _ c: UnsafeMutablePointer<Int32>, _ ldc: Int) {
        switch self {
        case .vnni: ek_gemm_u8s8_avx512vnni(a.assumingMemoryBound(to: UInt8.self), m, kp, lda, packed, blockBegin, blockEnd, c, ldc)
        case .avxvnni: ek_gemm_u8s8_avxvnni(a.assumingMemoryBound(to: UInt8.self), m, kp, lda, packed, blockBegin, blockEnd, c, ldc)
        case .avxvnniModel:
            ek_gemm_u8s8_avxvnni_model(a.assumingMemoryBound(to: UInt8.self), m, kp, lda, packed, blockBegin, blockEnd, c, ldc)
        case .avx2: ek_gemm_u16s8_avx2(a.assumingMemoryBound(to: UInt16.self), m, kp, lda, packed, blockBegin, blockEnd, c, ldc)
        case .portable: ek_gemm_u8s8_portable(a.assumingMemoryBound(to: UInt8.self), m, kp, lda, packed, blockBegin, blockEnd, c, ldc)
        }
    }
}
