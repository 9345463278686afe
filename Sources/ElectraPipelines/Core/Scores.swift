import Electra
import Foundation

/// The score functions of HF's pipelines, in fp32 as numpy computes them there (the server's
/// routes use them too).
public enum Scores {
    public static func softmax(_ x: ArraySlice<Float>) -> [Float] {
        let m = x.max() ?? 0
        let e = x.map { Foundation.exp($0 - m) }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
    }

    public static func softmax(_ x: [Float]) -> [Float] { softmax(x[...]) }

    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

    /// Indices of `values` by descending value; ties keep the lower index first.
    public static func descending(_ values: [Float]) -> [Int] {
        values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
    }
}

/// Errors a pipeline raises when a result would be garbage.
enum PipelineChecks {
    static func finite(_ values: some Collection<Float>, model: String) throws {
        guard values.allSatisfy(\.isFinite) else {
            throw ElectraError("\(model) produced non-finite outputs (NaN or inf): its weights are broken")
        }
    }
}
