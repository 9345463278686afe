/// Inverted dropout: a mask of 0 (dropped, probability p) or 1/(1-p) (kept), multiplied into
/// the activations on the way forward and into their gradients on the way back. Masks come
/// from a seeded Xoshiro256 in a fixed order, so a run is reproducible and resumable.
public final class DropoutContext {
    public var rng: Xoshiro256
    public init(seed: UInt64) { rng = Xoshiro256(seed: seed) }
    public init(state: Xoshiro256) { rng = state }

    /// Fills `mask[count]` for drop probability `p` (two 32-bit draws per generator step).
    /// The generator's four words live in registers for the loop (through `state`, an array,
    /// each draw paid bounds and uniqueness checks: 6% of a small B32 training step).
    public func fillMask(_ mask: UnsafeMutablePointer<Float>, count: Int, p: Float) {
        let threshold = UInt64(Double(p) * 4_294_967_296.0)
        let keep = 1 / (1 - p)
        var g = XoshiroWords(rng.state)
        var i = 0
        while i < count {
            let r = g.next()
            mask[i] = (r & 0xFFFF_FFFF) >= threshold ? keep : 0
            if i + 1 < count { mask[i + 1] = (r >> 32) >= threshold ? keep : 0 }
            i += 2
        }
        rng.state = g.state
    }
}

/// x[i] *= mask[i] (SIMD). Used for both directions of dropout.
public func multiplyInPlace(_ x: UnsafeMutablePointer<Float>, _ mask: UnsafePointer<Float>, count n: Int) {
    Parallel.forRanges(n, minChunk: 32768) { _, r in
        var i = r.lowerBound
        while i + vecWidth <= r.upperBound {
            storeVec(loadVec(x + i) * loadVec(mask + i), x + i)
            i += vecWidth
        }
        while i < r.upperBound { x[i] *= mask[i]; i += 1 }
    }
}
