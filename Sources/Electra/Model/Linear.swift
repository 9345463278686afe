import ElectraKernels

/// HF `nn.Linear`: weight [out, in], bias [out].
public struct Linear: Sendable {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int

    /// y: [rows, out] = x: [rows, in] · W^T + b (y rows `yStride` floats apart when given).
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, yStride: Int? = nil) {
        linearForward(y, x, weight: weight.pointer, bias: bias?.pointer,
                      rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, yStride: yStride)
    }
}

extension Linear {
    /// dx[rows,in] = dy · W (+= when `accumulate`, skipped when nil); weight/bias grads +=.
    public func backward(
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool = false, dy: UnsafePointer<Float>,
        x: UnsafePointer<Float>, rows: Int
    ) {
        linearBackward(dx: dx, accumulate: accumulate, dWeight: weight.gradPointer, dBias: bias?.gradPointer,
                       dy: dy, x: x, weight: weight.pointer, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
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

extension LayerNormWeights {
    /// dx = LN backward at input (+ residual) with the kept mean/rstd; gamma/beta grads +=.
    public func backward(
        dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, input: UnsafePointer<Float>,
        residual: UnsafePointer<Float>?, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int
    ) {
        layerNormBackward(dx: dx, dGamma: gamma.gradPointer, dBeta: beta.gradPointer, dy: dy, input: input,
                          residual: residual, gamma: gamma.pointer, mean: mean, rstd: rstd,
                          rows: rows, columns: gamma.value.count)
    }
}
