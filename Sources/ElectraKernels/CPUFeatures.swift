import CVectorKernels
import Foundation

/// The instruction sets this process can use: present on the CPU (CPUID) and enabled by the
/// OS (XCR0; AMX also by Linux's per-process permission). The one place kernels and products
/// are chosen from, by feature, never by CPU model number.
public struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let sse42 = CPUFeatures(rawValue: UInt64(EK_SSE42))
    public static let avx = CPUFeatures(rawValue: UInt64(EK_AVX))
    public static let avx2 = CPUFeatures(rawValue: UInt64(EK_AVX2))
    public static let fma = CPUFeatures(rawValue: UInt64(EK_FMA))
    public static let avx512f = CPUFeatures(rawValue: UInt64(EK_AVX512F))
    public static let avx512bw = CPUFeatures(rawValue: UInt64(EK_AVX512BW))
    public static let avx512dq = CPUFeatures(rawValue: UInt64(EK_AVX512DQ))
    public static let avx512vl = CPUFeatures(rawValue: UInt64(EK_AVX512VL))
    public static let avx512vnni = CPUFeatures(rawValue: UInt64(EK_AVX512VNNI))
    public static let avx512bf16 = CPUFeatures(rawValue: UInt64(EK_AVX512BF16))
    public static let amxTile = CPUFeatures(rawValue: UInt64(EK_AMX_TILE))
    public static let amxBF16 = CPUFeatures(rawValue: UInt64(EK_AMX_BF16))
    public static let amxInt8 = CPUFeatures(rawValue: UInt64(EK_AMX_INT8))
    public static let avxVNNI = CPUFeatures(rawValue: UInt64(EK_AVXVNNI))

    /// AVX-512 as the kernels use it (Skylake-SP's set).
    public static let avx512: CPUFeatures = [.avx512f, .avx512bw, .avx512dq, .avx512vl]

    /// This process's features. AMX counts only when Linux granted the tile permission.
    public static let current: CPUFeatures = {
        var f = CPUFeatures(rawValue: ek_cpu_features())
        if f.contains(.amxTile) && ek_request_amx() == 0 { f.subtract([.amxTile, .amxBF16, .amxInt8]) }
        return f
    }()

    /// The vector level the fp32 kernels and products target.
    public var level: ISALevel {
        if isSuperset(of: .avx512) { return .avx512 }
        if isSuperset(of: [.avx2, .fma]) { return .avx2 }
        return .sse
    }

    /// "AVX-512 (F/BW/DQ/VL) + VNNI + BF16 + AMX-BF16/INT8", "AVX2+FMA", "SSE".
    public var description: String {
        var parts = [level.description]
        if contains(.avx512vnni) { parts.append("VNNI") } else if contains(.avxVNNI) { parts.append("AVX-VNNI") }
        if contains(.avx512bf16) { parts.append("BF16") }
        let amx = [(CPUFeatures.amxBF16, "BF16"), (CPUFeatures.amxInt8, "INT8")].filter { contains($0.0) }.map { $0.1 }
        if !amx.isEmpty { parts.append("AMX-" + amx.joined(separator: "/")) }
        return parts.joined(separator: " + ")
    }
}

/// The SIMD width class a kernel is compiled for.
public enum ISALevel: Int, Comparable, Sendable, CustomStringConvertible {
    case sse = 0, avx2, avx512

    public static func < (a: ISALevel, b: ISALevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .sse: "SSE"
        case .avx2: "AVX2+FMA"
        case .avx512: "AVX-512 (F/BW/DQ/VL)"
        }
    }
}
