import CVectorKernels

/// The optimizer's numeric loops: Adam-family updates over raw float pointers (SIMD8, no
/// allocation), gradient norms and scaling, and a way to run them in parallel over many
/// parameters as if they were one flat array.

/// Sum of squares, accumulated in fp32 SIMD lanes per 4,096-element block and in Double
/// across blocks (so the result does not drift on 100M-element models).
public func sumOfSquares(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
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

/// p[0..<n] *= factor.
public func scaleInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ factor: Float) {
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
public struct FlatSegments: Sendable {
    /// offsets[k] is where segment k starts; offsets.last is the total.
    public let offsets: [Int]
    public var total: Int { offsets.last ?? 0 }

    public init(counts: [Int]) {
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
    public func forEachPiece(in range: Range<Int>, _ body: (Int, Range<Int>) -> Void) {
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
    public func parallelForEach(minChunk: Int = 1 << 16, maxChunks: Int = .max, _ body: (Int, Int, Range<Int>) -> Void) {
        Parallel.forRanges(total, minChunk: minChunk, maxChunks: maxChunks) { chunk, range in
            forEachPiece(in: range) { seg, local in body(chunk, seg, local) }
        }
    }
}

/// PyTorch AdamW's per-step constants (decayFactor = 1 - lr * wd, negStepSize = -lr / bias_correction1,
/// bc2Sqrt = sqrt(bias_correction2)).
public struct AdamWScalars: Sendable {
    public var decayFactor, beta1, oneMinusBeta1, beta2, oneMinusBeta2, negStepSize, bc2Sqrt, epsilon: Float
    public init(decayFactor: Float, beta1: Float, oneMinusBeta1: Float, beta2: Float, oneMinusBeta2: Float,
                negStepSize: Float, bc2Sqrt: Float, epsilon: Float) {
        self.decayFactor = decayFactor; self.beta1 = beta1; self.oneMinusBeta1 = oneMinusBeta1; self.beta2 = beta2
        self.oneMinusBeta2 = oneMinusBeta2; self.negStepSize = negStepSize; self.bc2Sqrt = bc2Sqrt; self.epsilon = epsilon
    }
}

/// ELECTRA's AdamWeightDecay per-step constants (no bias correction).
public struct ElectraScalars: Sendable {
    public var learningRate, weightDecay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon: Float
    public init(learningRate: Float, weightDecay: Float, beta1: Float, oneMinusBeta1: Float, beta2: Float,
                oneMinusBeta2: Float, epsilon: Float) {
        self.learningRate = learningRate; self.weightDecay = weightDecay; self.beta1 = beta1; self.oneMinusBeta1 = oneMinusBeta1
        self.beta2 = beta2; self.oneMinusBeta2 = oneMinusBeta2; self.epsilon = epsilon
    }
}

@inline(__always)
func adamWLanes(_ p: inout Vec, _ g: Vec, _ m: inout Vec, _ v: inout Vec, _ s: AdamWScalars) {
    p = p * s.decayFactor
    // torch's lerp: start + w * (end - start) for |w| < 0.5, else end - (end - start) * (1 - w).
    if s.oneMinusBeta1 < 0.5 {
        m = m + s.oneMinusBeta1 * (g - m)
    } else {
        m = g - (g - m) * s.beta1
    }
    v = v * s.beta2 + s.oneMinusBeta2 * g * g
    let denom = v.squareRoot() / s.bc2Sqrt + s.epsilon
    p = p + s.negStepSize * m / denom
}

/// PyTorch AdamW over n elements of parameter, gradient and both moments (AVX-512 C where the
/// CPU has it, bit-identical; `portable` forces the Swift lanes).
public func adamWUpdate(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
    _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ n: Int, _ s: AdamWScalars,
    portable: Bool = false
) {
    if VectorISA.level == .avx512 && !portable {
        ek_adamw_avx512(p, g, m, v, n, s.decayFactor, s.beta1, s.oneMinusBeta1, s.beta2, s.oneMinusBeta2, s.negStepSize, s.bc2Sqrt, s.epsilon)
        return
    }
    adamLoop(p, g, m, v, n) { adamWLanes(&$0, $1, &$2, &$3, s) }
}

@inline(__always)
func electraLanes(_ p: inout Vec, _ g: Vec, _ m: inout Vec, _ v: inout Vec, _ s: ElectraScalars) {
    m = s.beta1 * m + s.oneMinusBeta1 * g
    v = s.beta2 * v + s.oneMinusBeta2 * (g * g)
    var update = m / (v.squareRoot() + s.epsilon)
    if s.weightDecay != 0 { update = update + s.weightDecay * p }
    p = p - s.learningRate * update
}

/// ELECTRA AdamWeightDecay over n elements of parameter, gradient and both moments (AVX-512 C
/// where the CPU has it, bit-identical; `portable` forces the Swift lanes).
public func electraUpdate(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
    _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ n: Int, _ s: ElectraScalars,
    portable: Bool = false
) {
    if VectorISA.level == .avx512 && !portable {
        ek_electra_adam_avx512(p, g, m, v, n, s.learningRate, s.weightDecay, s.beta1, s.oneMinusBeta1, s.beta2, s.oneMinusBeta2, s.epsilon)
        return
    }
    adamLoop(p, g, m, v, n) { electraLanes(&$0, $1, &$2, &$3, s) }
}

/// Runs an Adam-family lane update over n elements of parameter, gradient and both moments,
/// 8 at a time plus a partial tail.
@inline(__always)
func adamLoop(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
    _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ n: Int,
    _ lanes: (inout Vec, Vec, inout Vec, inout Vec) -> Void
) {
    var i = 0
    while i + 8 <= n {
        var pv = loadVec(p + i), mv = loadVec(m + i), vv = loadVec(v + i)
        lanes(&pv, loadVec(g + i), &mv, &vv)
        storeVec(pv, p + i); storeVec(mv, m + i); storeVec(vv, v + i)
        i += 8
    }
    if i < n {
        let r = n - i
        var pv = loadPartial(p + i, r, fill: 0), mv = loadPartial(m + i, r, fill: 0), vv = loadPartial(v + i, r, fill: 0)
        lanes(&pv, loadPartial(g + i, r, fill: 0), &mv, &vv)
        storePartial(pv, p + i, r); storePartial(mv, m + i, r); storePartial(vv, v + i, r)
    }
}
