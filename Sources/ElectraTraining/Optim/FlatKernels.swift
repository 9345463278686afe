import Electra

// SIMD8 loops over raw float pointers, and a way to run them in parallel over many
// parameters as if they were one flat array. No Array is allocated inside the loops.

typealias F8 = SIMD8<Float>

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> F8 {
    UnsafeRawPointer(p).loadUnaligned(as: F8.self)
}

@inline(__always) func store8(_ x: F8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: x, as: F8.self)
}

/// Loads the `n < 8` trailing elements into the low lanes (the rest are zero).
@inline(__always) func loadTail(_ p: UnsafePointer<Float>, _ n: Int) -> F8 {
    var x = F8()
    for i in 0..<n { x[i] = p[i] }
    return x
}

@inline(__always) func storeTail(_ x: F8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = x[i] }
}

/// Sum of squares, accumulated in fp32 SIMD lanes per 4,096-element block and in Double
/// across blocks (so the result does not drift on 100M-element models).
func sumOfSquares(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = min(n, i + 4096)
        var a0 = F8(), a1 = F8()
        while i + 16 <= end {
            let x0 = load8(p + i), x1 = load8(p + i + 8)
            a0 += x0 * x0
            a1 += x1 * x1
            i += 16
        }
        while i + 8 <= end {
            let x = load8(p + i)
            a0 += x * x
            i += 8
        }
        if i < end {
            let x = loadTail(p + i, end - i)
            a1 += x * x
            i = end
        }
        total += Double((a0 + a1).sum())
    }
    return total
}

func scaleInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ factor: Float) {
    let f = F8(repeating: factor)
    var i = 0
    while i + 8 <= n {
        store8(load8(p + i) * f, p + i)
        i += 8
    }
    while i < n {
        p[i] *= factor
        i += 1
    }
}

/// Several tensors seen as one flat index space, so parallel work splits evenly however the
/// sizes are distributed (one 4M-element embedding next to hundreds of small biases).
struct FlatSegments {
    /// offsets[k] is where segment k starts; offsets.last is the total.
    let offsets: [Int]
    var total: Int { offsets.last ?? 0 }

    init(counts: [Int]) {
        var o = [Int]()
        o.reserveCapacity(counts.count + 1)
        var s = 0
        o.append(0)
        for c in counts {
            s += c
            o.append(s)
        }
        offsets = o
    }

    /// Calls body(segment, localRange) for every segment piece that overlaps `range`.
    @inline(__always)
    func forEachPiece(in range: Range<Int>, _ body: (Int, Range<Int>) -> Void) {
        guard !range.isEmpty else { return }
        // Last segment whose start is <= range.lowerBound.
        var lo = 0, hi = offsets.count - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if offsets[mid] <= range.lowerBound { lo = mid } else { hi = mid }
        }
        var k = lo
        while k < offsets.count - 1 && offsets[k] < range.upperBound {
            let a = max(range.lowerBound, offsets[k]) - offsets[k]
            let b = min(range.upperBound, offsets[k + 1]) - offsets[k]
            if a < b { body(k, a..<b) }
            k += 1
        }
    }

    /// Runs over the whole flat space, split across `Parallel.threads` when it is large
    /// enough to pay for the hop (chunks of at least `minChunk` elements); body gets the
    /// chunk number (< Parallel.threads), the segment and the segment-local range.
    func parallelForEach(minChunk: Int = 1 << 16, maxChunks: Int = .max, _ body: (Int, Int, Range<Int>) -> Void) {
        Parallel.forRanges(total, minChunk: minChunk, maxChunks: maxChunks) { chunk, range in
            forEachPiece(in: range) { seg, local in body(chunk, seg, local) }
        }
    }
}
