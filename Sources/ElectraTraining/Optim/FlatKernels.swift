import Electra

// SIMD8 loops over raw float pointers, and a way to run them in parallel over many
// parameters as if they were one flat array. No Array is allocated inside the loops.

// Vec, loadVec, storeVec, loadPartial, storePartial come from ElectraKernels.

/// Sum of squares, accumulated in fp32 SIMD lanes per 4,096-element block and in Double
/// across blocks (so the result does not drift on 100M-element models).
func sumOfSquares(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = min(n, i + 4096)
        var a0 = Vec(), a1 = Vec()
        while i + 16 <= end {
            let x0 = loadVec(p + i), x1 = loadVec(p + i + 8)
            a0 += x0 * x0
            a1 += x1 * x1
            i += 16
        }
        while i + 8 <= end {
            let x = loadVec(p + i)
            a0 += x * x
            i += 8
        }
        if i < end {
            let x = loadPartial(p + i, end - i, fill: 0)
            a1 += x * x
            i = end
        }
        total += Double((a0 + a1).sum())
    }
    return total
}

func scaleInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ factor: Float) {
    let f = Vec(repeating: factor)
    var i = 0
    while i + 8 <= n {
        storeVec(loadVec(p + i) * f, p + i)
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
