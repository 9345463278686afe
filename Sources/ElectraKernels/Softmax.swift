import CVectorKernels
import Foundation

/// In-place softmax of one row of `n` scores, after adding `bias[n]` when given
/// (the attention mask as an additive bias). Stable: subtracts the row max.
@inline(__always)
public func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ n: Int, bias: UnsafePointer<Float>? = nil) {
    if let bias {
        var i = 0
        while i + vecWidth <= n { storeVec(loadVec(x + i) + loadVec(bias + i), x + i); i += vecWidth }
        while i < n { x[i] += bias[i]; i += 1 }
    }
    scaleRow(x, n, by: 1 / expShiftedRow(x, n))
}

/// x[i] = exp(x[i] - max(x)) in place; returns Σ x[i], the softmax denominator, so that a
/// caller may divide something smaller than the row later (attention scales its output
/// rows instead of the probabilities).
@inline(__always)
public func expShiftedRow(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    let m = vmaxElement(x, n)
    if let fast = VectorISA.expShifted { return fast(x, n, m) }
    return expShiftedRowPortable(x, n, shift: m)
}

/// The Swift SIMD form of `expShiftedRow` after the max (tests compare it with the AVX2 one).
@inline(__always)
func expShiftedRowPortable(_ x: UnsafeMutablePointer<Float>, _ n: Int, shift m: Float) -> Float {
    var acc = Vec()
    var i = 0
    while i + vecWidth <= n {
        let e = vexp(loadVec(x + i) - m)
        storeVec(e, x + i)
        acc += e
        i += vecWidth
    }
    var s = acc.sum()
    while i < n {
        let e = vexp(Vec(repeating: x[i] - m))[0]
        x[i] = e
        s += e
        i += 1
    }
    return s
}

/// log(sum(exp(x))) of one row, stable.
public func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    let m = vmaxElement(x, n)
    if m == -.infinity { return m }
    var acc = Vec()
    var i = 0
    while i + vecWidth <= n { acc += vexp(loadVec(x + i) - m); i += vecWidth }
    var s = acc.sum()
    while i < n { s += vexp(Vec(repeating: x[i] - m))[0]; i += 1 }
    return m + log(s)
}

