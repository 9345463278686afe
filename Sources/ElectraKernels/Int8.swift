import CVectorKernels
import Foundation

/// A weight matrix quantized once for int8 inference (dynamic quantization, as ONNX Runtime's
/// quantize_dynamic and PyTorch's quantize_dynamic do): weights symmetric per output channel
/// (s8, scale max|w_j| / 127), activations per row at run time (u8 with zero point 128, scale
/// max|x_i| / 127), int32 sums, then y = (sum - 128 Σ_k w_q) · scale_x · scale_w + bias.
/// The products run on AVX512-VNNI (vpdpbusd) or AVX2 (widened to int16), else portable C.
public final class QuantizedWeight: @unchecked Sendable {
    public let rows: Int, columns: Int
    /// columns rounded up to 4 (a VNNI group), output blocks of 16.
    let kp: Int, blocks: Int
    let packed: UnsafeMutablePointer<Int8>
    let scales: [Float]
    /// 128 Σ_k w_q[j, k]: what the zero point adds to each output's sum.
    let correction: [Int32]

    /// weight: [rows, columns] fp32 (HF's [out, in]).
    public init(weight: UnsafePointer<Float>, rows n: Int, columns k: Int) {
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
        q.withUnsafeBufferPointer { ek_pack_s8_vnni($0.baseAddress!, n, k, packed) }
    }

    deinit { packed.deallocate() }

    public var byteCount: Int { blocks * 16 * kp + rows * 8 }

    /// y [m, rows] = x [m, columns] · Wᵀ (+ bias), through int8: rows quantized, then the
    /// product with the dequantization fused into its stores, output blocks across threads.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows m: Int, bias: UnsafePointer<Float>?) {
        let k = columns, kp = kp, n = rows
        let kernel = Int8Kernel.current
        ScratchPool.shared.with(bytes: m * kp + m * 4) { raw in
            let a = raw.assumingMemoryBound(to: UInt8.self)
            let rowScale = (raw + m * kp).assumingMemoryBound(to: Float.self)  // m * kp is a multiple of 4
            Parallel.forRanges(m, minChunk: 16) { _, r in
                kernel.quantize(x + r.lowerBound * k, r.count, k, k, a + r.lowerBound * kp, kp, rowScale + r.lowerBound)
            }
            scales.withUnsafeBufferPointer { ws in
                correction.withUnsafeBufferPointer { corr in
                    Parallel.forRanges(blocks, minChunk: 1) { _, r in
                        kernel.product(a, m, kp, packed, r.lowerBound, r.upperBound, corr.baseAddress, ws.baseAddress,
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
/// ELECTRA_MAX_ISA (avx2: the AVX2 one; sse: the portable C loop).
public enum Int8Kernel: String, Sendable {
    case vnni = "AVX512-VNNI"
    case avx2 = "AVX2 (int16 madd)"
    case portable = "portable C"

    public static let current: Int8Kernel = {
        let f = CPUFeatures.current
        if VectorISA.level == .avx512 && f.contains(.avx512vnni) { return .vnni }
        if VectorISA.level >= .avx2 { return .avx2 }
        return .portable
    }()

    typealias Quantize = @convention(c) (UnsafePointer<Float>?, Int, Int, Int, UnsafeMutablePointer<UInt8>?, Int,
                                         UnsafeMutablePointer<Float>?) -> Void
    typealias Product = @convention(c) (UnsafePointer<UInt8>?, Int, Int, UnsafePointer<Int8>?, Int, Int, UnsafePointer<Int32>?,
                                        UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                                        UnsafeMutablePointer<Float>?, Int) -> Void
    typealias Sums = @convention(c) (UnsafePointer<UInt8>?, Int, Int, Int, UnsafePointer<Int8>?, Int, Int,
                                     UnsafeMutablePointer<Int32>?, Int) -> Void

    /// Why int8 saves no time on this kernel, for a command's warning; nil on VNNI. Without
    /// VNNI, vpmaddwd does 16 multiply-adds per instruction plus an add to accumulate: no more
    /// per cycle than two 8-wide FMAs (BENCHMARKS.md, session 15).
    public var slowerWarning: String? {
        switch self {
        case .vnni: nil
        case .avx2: "this CPU has no AVX512-VNNI (or ELECTRA_MAX_ISA caps it): int8 runs on the AVX2 kernel, which saves weight memory but is no faster than fp32 here (0.84-0.96x on a Zen 3)"
        case .portable: "this CPU has no AVX2 (or ELECTRA_MAX_ISA=sse caps it): int8 runs on the portable loop, which saves memory but is slower than fp32 here"
        }
    }

    var quantize: Quantize { self == .vnni ? ek_quantize_rows_u8_avx512 : ek_quantize_rows_u8 }

    /// The product with dequantization fused.
    var product: Product {
        switch self {
        case .vnni: ek_qgemm_avx512vnni
        case .avx2: ek_qgemm_avx2
        case .portable: ek_qgemm_portable
        }
    }

    /// The raw int32 sums (tests compare them across kernels, exactly).
    var sums: Sums {
        switch self {
        case .vnni: ek_gemm_u8s8_avx512vnni
        case .avx2: ek_gemm_u8s8_avx2
        case .portable: ek_gemm_u8s8_portable
        }
    }
}
