/// The seed of micro-batch `index` of optimizer step `step`: what its dropout masks and its
/// masking and sampling draws start from. A function of the run's seed, the step and the
/// micro-batch's index over the whole job, and of nothing else (not the rank, the thread
/// count or how many micro-batches ran before), so N ranks draw what one process
/// accumulating the same N micro-batches draws, and a resumed run draws what the
/// uninterrupted one would have.
public enum MicroBatchSeed {
    public static func derive(_ seed: UInt64, step: Int, microBatch index: Int) -> UInt64 {
        // Each input through its own round, so (seed + 1, step) never meets (seed, step + 1).
        mix(mix(mix(seed ^ 0x5EED_E1EC_72A0_0000) ^ UInt64(truncatingIfNeeded: step)) &+ UInt64(truncatingIfNeeded: index))
    }

    /// SplitMix64's finaliser.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
