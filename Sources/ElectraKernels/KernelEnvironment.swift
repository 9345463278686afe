import Foundation

/// The environment variables that choose kernels, and the values each takes. The kernels
/// read them once, at first use, and ignore a value they do not know, so that a mistyped one
/// (ELECTRA_BF16=portabel) would change nothing silently: commands refuse it up front.
public enum KernelEnvironment {
    static let accepted: [(name: String, values: [String])] = [
        ("ELECTRA_MAX_ISA", ["sse", "avx2", "avx512"]),
        ("ELECTRA_BF16", ["portable", "onednn"]),
        ("ELECTRA_GEMM", ["openblas", "onednn"]),
        ("ELECTRA_BF16_MATMUL", ["0", "1"]),
    ]

    /// A message naming the first variable set to a value it does not take; nil when all are fine.
    public static func problem(in environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        for (name, values) in accepted {
            guard let value = environment[name], !values.contains(value.lowercased()) else { continue }
            return "\(name) is '\(value)'; it takes \(values.map { "'\($0)'" }.joined(separator: ", ")) (or unset)"
        }
        return nil
    }
}
