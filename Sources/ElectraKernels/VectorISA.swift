import CVectorKernels
import Foundation

/// Which instruction set the hottest elementwise kernels (GELU forward and backward, the
/// softmax exponentials) run on, chosen from `CPUFeatures.current`.
///
/// Release builds target baseline x86-64, where `SIMD8<Float>` becomes pairs of SSE
/// instructions without FMA: GELU's rational erf then costs about three times the
/// instructions of its AVX2+FMA form. CVectorKernels holds AVX2+FMA and AVX-512 forms, and the
/// best the CPU and OS support runs. The Swift SIMD kernels remain the portable path, and the
/// reference the C ones are tested against.
public enum VectorISA {
    /// The level the C kernels run at: the CPU's, capped by `ELECTRA_MAX_ISA` (sse, avx2 or
    /// avx512) or `ELECTRA_NO_AVX2=1` (= sse), set to measure or test the other paths.
    public static let level: ISALevel = {
        var level = CPUFeatures.current.level
        let env = ProcessInfo.processInfo.environment
        if env["ELECTRA_NO_AVX2"] != nil { level = .sse }
        switch env["ELECTRA_MAX_ISA"]?.lowercased() {
        case "sse": level = .sse
        case "avx2": level = min(level, .avx2)
        default: break
        }
        return level
    }()

    /// True when C kernels (AVX2+FMA or AVX-512) run.
    public static var avx2: Bool { level >= .avx2 }

    /// What the CPU supports, whatever the environment says.
    public static var cpuHasAVX2FMA: Bool { CPUFeatures.current.isSuperset(of: [.avx2, .fma]) }

    /// "AVX-512 (F/BW/DQ/VL)", "AVX2+FMA" or "Swift SIMD" (the portable path).
    public static var kernelName: String { level == .sse ? "Swift SIMD" : level.description }

    typealias ExpRun = @convention(c) (UnsafeMutablePointer<Float>?, Int, Float) -> Float

    static let gelu: ForwardRun? = level == .avx512 ? ek_gelu_avx512 : level == .avx2 ? ek_gelu_avx2 : nil
    static let geluBackward: BackwardRun? =
        level == .avx512 ? ek_gelu_backward_avx512 : level == .avx2 ? ek_gelu_backward_avx2 : nil
    static let expShifted: ExpRun? = level == .avx512 ? ek_exp_shifted_avx512 : level == .avx2 ? ek_exp_shifted_avx2 : nil
}
