import ElectraKernels

/// HF `nn.Linear`: weight [out, in], bias [out].
public struct Linear: Sendable {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int

    /// y: [rows, out] = x: [rows, in] · W^T + b
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int) {
        linearForward(y, x, weight: weight.pointer, bias: bias?.pointer,
                      rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    }
}

/// HF `nn.LayerNorm`: weight (gamma) and bias (beta) of the normalised width.
public struct LayerNormWeights: Sendable {
    public let gamma: Parameter
    public let beta: Parameter
    public let eps: Float

    /// out: [rows, n] = LN(x (+ residual)); mean/rstd: [rows] saved for backward when given.
    public func forward(
        _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, residual: UnsafePointer<Float>? = nil,
        rows: Int, mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil
    ) {
        layerNormForward(out, x, residual: residual, gamma: gamma.pointer, beta: beta.pointer,
                         rows: rows, columns: gamma.value.count, eps: eps, mean: mean, rstd: rstd)
    }
}
