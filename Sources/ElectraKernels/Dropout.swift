import CVectorKernels

/// Inverted dropout: a mask of 0 (dropped, probability p) or 1/(1-p) (kept), multiplied into
/// the activations on the way forward and into their gradients on the way back.
///
/// Each mask takes one 64-bit key from a seeded Xoshiro256 (in a fixed order, so a run is
/// reproducible and resumable from the generator's state alone); element i of the mask then
/// comes from SplitMix64(key + i/2), two 32-bit halves per value. Being a function of its
/// position, the mask fills in parallel, with the same values for any thread count: drawing
/// every element from the generator in turn was serial (3% of a small B32 training step,
/// with the other core idle).
public final class DropoutContext {
    public var rng: Xoshiro256
    public init(seed: UInt64) { rng = Xoshiro256(seed: seed) }
    public init(state: Xoshiro256) { rng = state }
    /// Restarts the generator (the trainer does so per micro-batch, from its step and index).
    public func reseed(_ seed: UInt64) { rng = Xoshiro256(seed: seed) }

    /// Fills `mask[count]` for drop probability `p`.
    public func fillMask(_ mask: UnsafeMutablePointer<Float>, count: Int, p: Float) {
        let threshold = UInt64(Double(p) * 4_294_967_296.0)
        let keep = 1 / (1 - p)
        let key = rng.next()
        let pairs = (count + 1) / 2
        guard let kernel = Self.maskKernel else {
            return fillMaskPortable(mask, count: count, key: key, threshold: threshold, keep: keep)
        }
        Parallel.forRanges(pairs, minChunk: 16384) { _, r in
            kernel(mask, count, key, UInt32(truncatingIfNeeded: threshold), keep, r.lowerBound, r.upperBound)
        }
    }

    typealias MaskRun = @convention(c) (UnsafeMutablePointer<Float>?, Int, UInt64, UInt32, Float, Int, Int) -> Void
    /// The C mask kernel of this CPU's level (nil: the Swift loop).
    static let maskKernel: MaskRun? =
        VectorISA.level == .avx512 ? ek_dropout_mask_avx512 : VectorISA.level == .avx2 ? ek_dropout_mask_avx2 : nil

    /// The Swift form (the reference the AVX-512 and AVX2 ones are tested against).
    func fillMaskPortable(_ mask: UnsafeMutablePointer<Float>, count: Int, key: UInt64, threshold: UInt64, keep: Float) {
        let pairs = (count + 1) / 2
        Parallel.forRanges(pairs, minChunk: 16384) { _, r in
            for j in r {
                let v = splitMix64(key &+ UInt64(j))
                let i = 2 * j
                mask[i] = (v & 0xFFFF_FFFF) >= threshold ? keep : 0
                if i + 1 < count { mask[i + 1] = (v >> 32) >= threshold ? keep : 0 }
            }
        }
    }
}

/// SplitMix64's output function: a well-mixed 64-bit value for each input.
@inline(__always)
func splitMix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// out[i] = a[i] * b[i] on the calling thread (out may alias a or b): AVX-512 where the CPU
/// has it, else Swift SIMD.
public func multiply(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) {
    if VectorISA.level == .avx512 { return ek_multiply_avx512(out, a, b, n) }
    var i = 0
    while i + vecWidth <= n { storeVec(loadVec(a + i) * loadVec(b + i), out + i); i += vecWidth }
    while i < n { out[i] = a[i] * b[i]; i += 1 }
}

/// x[i] *= mask[i] (SIMD). Used for both directions of dropout.
public func multiplyInPlace(_ x: UnsafeMutablePointer<Float>, _ mask: UnsafePointer<Float>, count n: Int) {
    if VectorISA.level == .avx512 {
        Parallel.forRanges(n, minChunk: 32768) { _, r in ek_multiply_avx512(x + r.lowerBound, x + r.lowerBound, mask + r.lowerBound, r.count) }
        return
    }
    Parallel.forRanges(n, minChunk: 32768) { _, r in
        var i = r.lowerBound
        while i + vecWidth <= r.upperBound {
            storeVec(loadVec(x + i) * loadVec(mask + i), x + i)
            i += vecWidth
        }
        while i < r.upperBound { x[i] *= mask[i]; i += 1 }
    }
}
