// SIMD transcendental functions. A release build targets baseline x86-64 (SSE2), so
// these are written with SIMD8<Float> (two xmm registers) and avoid the stdlib calls
// that scalarise: .rounded(), pointwiseMin/Max, Int conversions.

public typealias Vec = SIMD8<Float>
public let vecWidth = 8

@_transparent
public func vmin(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .< a) }
@_transparent
public func vmax(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .> a) }

/// exp(x), relative error ~1 ulp over the float range; 0 below -87.3 (where 2^n would
/// underflow the exponent field), +inf-safe clamp above 88.7.
@_transparent
public func vexp(_ x: Vec) -> Vec {
    let xc = vmin(vmax(x, Vec(repeating: -87.3)), Vec(repeating: 88.7))
    // n = round(x / ln2) via the 1.5 * 2^23 trick: the low mantissa bits of t hold n.
    let t = xc * 1.44269504088896341 + 12582912.0
    let n = t - 12582912.0
    var r = xc - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p = Vec(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let y = p * r * r + r + 1
    let ti = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((ti &+ 127) &<< 23, to: Vec.self)
    return (y * scale).replacing(with: 0, where: x .< -87.3)
}

/// erf(x) as an odd/even rational function on [-4, 4] (erf(±4) rounds to ±1 in fp32).
/// No exp and one division: about half the cost of an erfc-via-exp form, and an absolute
/// error below 1e-7 against libm (KernelTests checks the sweep).
@_transparent
public func verf(_ x: Vec) -> Vec {
    let xc = vmin(vmax(x, Vec(repeating: -4)), Vec(repeating: 4))
    let x2 = xc * xc
    var p = Vec(repeating: -2.72614225801306e-10)
    p = p * x2 + 2.77068142495902e-08
    p = p * x2 - 2.10102402082508e-06
    p = p * x2 - 5.69250639462346e-05
    p = p * x2 - 7.34990630326855e-04
    p = p * x2 - 2.95459980854025e-03
    p = p * x2 - 1.60960333262415e-02
    var q = Vec(repeating: -1.45660718464996e-05)
    q = q * x2 - 2.13374055278905e-04
    q = q * x2 - 1.68282697438203e-03
    q = q * x2 - 7.37332916720468e-03
    q = q * x2 - 1.42647390514189e-02
    return xc * p / q
}

/// tanh(x) = sign(x) (1 - 2 / (exp(2|x|) + 1)).
@_transparent
public func vtanh(_ x: Vec) -> Vec {
    let neg = x .< 0
    let ax = x.replacing(with: -x, where: neg)
    let e = vexp(2 * ax)
    let th = 1 - 2 / (e + 1)
    return th.replacing(with: -th, where: neg)
}

/// Logistic sigmoid 1 / (1 + exp(-x)).
@_transparent
public func vsigmoid(_ x: Vec) -> Vec { 1 / (1 + vexp(-x)) }

@_transparent
public func loadVec(_ p: UnsafePointer<Float>) -> Vec {
    UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
}

@_transparent
public func storeVec(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
}

/// Loads `n < 8` floats into the low lanes, `fill` elsewhere.
@inline(__always)
public func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, fill: Float) -> Vec {
    var v = Vec(repeating: fill)
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inline(__always)
public func storePartial(_ v: Vec, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = v[i] }
}

/// Applies `f` to `n` floats in place, 8 at a time.
@inline(__always)
public func mapInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Vec) -> Vec) {
    var i = 0
    while i + vecWidth <= n {
        storeVec(f(loadVec(x + i)), x + i)
        i += vecWidth
    }
    if i < n {
        storePartial(f(loadPartial(x + i, n - i, fill: 0)), x + i, n - i)
    }
}
