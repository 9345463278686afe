/// y[r, :] += bias[:] for every row.
public func addBiasRows(
    _ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, columns: Int
) {
    Parallel.forChunks(rows, minChunk: max(1, 32768 / max(columns, 1))) { _, r in
        for row in r {
            let p = y + row * columns
            var i = 0
            while i + vecWidth <= columns {
                storeVec(loadVec(p + i) + loadVec(bias + i), p + i)
                i += vecWidth
            }
            while i < columns { p[i] += bias[i]; i += 1 }
        }
    }
}

/// Sum of `n` floats with eight independent accumulators.
@inline(__always)
public func vsum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vec()
    var i = 0
    while i + vecWidth <= n { acc += loadVec(x + i); i += vecWidth }
    var s = acc.sum()
    while i < n { s += x[i]; i += 1 }
    return s
}

/// Dot product of two float runs.
@inline(__always)
public func vdot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vec()
    var i = 0
    while i + vecWidth <= n { acc += loadVec(a + i) * loadVec(b + i); i += vecWidth }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// Maximum of `n >= 1` floats.
@inline(__always)
public func vmaxElement(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var i = 0
    var m = -Float.infinity
    if n >= vecWidth {
        var acc = loadVec(x)
        i = vecWidth
        while i + vecWidth <= n { acc = vmax(acc, loadVec(x + i)); i += vecWidth }
        m = acc.max()
    }
    while i < n { m = Swift.max(m, x[i]); i += 1 }
    return m
}

/// x[0..<n] *= factor.
@inline(__always)
public func scaleRow(_ x: UnsafeMutablePointer<Float>, _ n: Int, by factor: Float) {
    var i = 0
    while i + vecWidth <= n { storeVec(loadVec(x + i) * factor, x + i); i += vecWidth }
    while i < n { x[i] *= factor; i += 1 }
}
