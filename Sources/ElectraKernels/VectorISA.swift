import CVectorKernels
import Foundation

/// Which instruction set the hottest elementwise kernels (GELU forward and backward, the
/// softmax exponentials) run on.
///
/// Release builds target baseline x86-64, where `SIMD8<Float>` becomes pairs of SSE
/// instructions without FMA: GELU's rational erf then costs about three times the
/// instructions of its AVX2+FMA form. CVectorKernels holds those forms, and they run when
/// the CPU and OS support them. The Swift SIMD kernels remain the portable path, and the
/// reference the C ones are tested against.
public enum VectorISA {
    /// True when the AVX2+FMA kernels run: the CPU has them and `ELECTRA_NO_AVX2` is unset
    /// (set it to measure or test the portable path).
    public static let avx2: Bool = ek_has_avx2_fma() != 0 && getenv("ELECTRA_NO_AVX2") == nil

    /// What the CPU supports, whatever the environment says.
    public static var cpuHasAVX2FMA: Bool { ek_has_avx2_fma() != 0 }
}
