import CVectorKernels
import Foundation

/// Which library runs the fp32 products (`sgemm`): OpenBLAS, or oneDNN's sgemm when the
/// library is installed and measured faster for the CPU's ISA level.
///
/// Measured on Emerald Rapids (AVX-512), one thread per product, against OpenBLAS's
/// Cooperlake kernels (BENCHMARKS.md): oneDNN 2.6's JIT sgemm is 3-10% faster on the model's
/// large shapes and about 2x at 16 rows. On AVX2 machines OpenBLAS Haswell stays (not
/// measured against oneDNN). oneDNN is loaded at run time (CVectorKernels/OneDNN.c): without
/// it everything runs on OpenBLAS. `ELECTRA_GEMM=openblas|onednn` overrides the choice.
public enum GemmBackend: String, Sendable, CustomStringConvertible {
    case openblas, onednn

    /// The backend products run on, chosen once.
    public static let current: GemmBackend = choose()

    /// Whether oneDNN could be loaded here.
    public static let oneDNNAvailable: Bool = ek_onednn_load() != 0

    /// "oneDNN 2.6.3" when it loaded.
    public static var oneDNNVersion: String? {
        guard oneDNNAvailable else { return nil }
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        ek_onednn_version(&major, &minor, &patch)
        return "oneDNN \(major).\(minor).\(patch)"
    }

    /// What runs the products, for `electra info` and `bench`.
    public static var summary: String {
        current == .onednn ? "\(current) sgemm (OpenBLAS \(BLASCore.choice.core) for matrix-vector products)" : BLASCore.choice.description
    }

    public var description: String {
        switch self {
        case .openblas: "OpenBLAS"
        case .onednn: GemmBackend.oneDNNVersion ?? "oneDNN"
        }
    }

    static func choose() -> GemmBackend {
        switch ProcessInfo.processInfo.environment["ELECTRA_GEMM"]?.lowercased() {
        case "openblas": return .openblas
        case "onednn": return oneDNNAvailable ? .onednn : .openblas
        default: return VectorISA.level == .avx512 && oneDNNAvailable ? .onednn : .openblas
        }
    }
}
