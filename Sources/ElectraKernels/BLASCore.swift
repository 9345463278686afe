import Foundation
#if canImport(CBLAS)
import CBLAS
#endif

/// Which kernels OpenBLAS runs the products on, chosen from the CPU's features.
///
/// OpenBLAS (DYNAMIC_ARCH builds, as Debian's) picks its kernels by CPU model when it loads;
/// a CPU newer than the library falls back to the oldest x86-64 kernels. Debian's 0.3.21 does
/// that on Emerald Rapids (family 6 model 207): "Prescott", SSE3, 36 GFLOP/s on 2 threads
/// where its SkylakeX kernels reach 302. So before the first product, when the core OpenBLAS
/// chose targets a lower ISA level than `CPUFeatures.current` offers, it is re-initialised
/// with the best of its own cores for that level, through OPENBLAS_CORETYPE (the variable
/// OpenBLAS reads at initialisation, set here only for that call). A user's own
/// OPENBLAS_CORETYPE is left alone. This works for library users too: it runs on the first
/// product or thread setting, whoever calls it.
public enum BLASCore {
    public struct Choice: Sendable, CustomStringConvertible {
        /// The core products run on now.
        public let core: String
        /// The core the library chose by itself.
        public let detected: String
        public var raised: Bool { core != detected }

        public var description: String {
            raised ? "OpenBLAS \(core) (raised from \(detected), which OpenBLAS picked for this CPU)" : "OpenBLAS \(core)"
        }
    }

    /// The choice, made once (thread-safe) before the first product.
    public static let choice: Choice = configure()

    /// The ISA level an OpenBLAS core's sgemm kernels use (nil for a name not listed:
    /// left as it is).
    static func level(ofCore name: String) -> ISALevel? {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": .avx512
        case "haswell", "zen", "excavator": .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": .sse  // AVX1 kernels, no FMA: below our AVX2 level
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "nano", "opteron", "opteron_sse3",
             "barcelona", "bobcat", "katmai", "coppermine", "northwood", "banias", "athlon": .sse
        default: nil
        }
    }

    /// OpenBLAS cores for a level, best first; the first one this build has is used.
    /// Cooperlake is SkylakeX plus bf16 kernels (the same sgemm); measured alike here.
    static func candidates(for level: ISALevel, features: CPUFeatures) -> [String] {
        switch level {
        case .avx512: features.contains(.avx512bf16) ? ["Cooperlake", "SkylakeX"] : ["SkylakeX"]
        case .avx2: ["Haswell"]
        case .sse: []
        }
    }

    static func configure() -> Choice {
        #if canImport(CBLAS)
        let detected = String(cString: openblas_get_corename())
        let features = CPUFeatures.current
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let have = level(ofCore: detected), have < features.level,
              let initialise = symbol("gotoblas_dynamic_init"), let quit = symbol("gotoblas_dynamic_quit"),
              let target = candidates(for: features.level, features: features).first(where: { symbol("gotoblas_\($0.uppercased())") != nil })
        else { return Choice(core: detected, detected: detected) }
        typealias Hook = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", target, 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialise, to: Hook.self)()
        unsetenv("OPENBLAS_CORETYPE")
        return Choice(core: String(cString: openblas_get_corename()), detected: detected)
        #else
        return Choice(core: "Accelerate", detected: "Accelerate")
        #endif
    }

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)  // RTLD_DEFAULT
    }
}
