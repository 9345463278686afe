import Foundation

/// Deterministic, seedable generator (xoshiro256**, seeded through SplitMix64). Its whole
/// state is four words, so a training checkpoint can save and restore it exactly.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Codable, Equatable {
    public var state: [UInt64]

    public init(seed: UInt64) {
        var z = seed
        var s = [UInt64](repeating: 0, count: 4)
        for i in 0..<4 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            s[i] = x ^ (x >> 31)
        }
        state = s
    }

    public mutating func next() -> UInt64 {
        let result = ((state[1] &* 5) << 7 | (state[1] &* 5) >> 57) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = (state[3] << 45) | (state[3] >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal via Box-Muller (one value per call; simple beats fast here).
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * Foundation.log(max(u1, 1e-300))).squareRoot() * cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Fills with normal(mean, std) draws.
    public func fillNormal(mean: Float = 0, std: Float, rng: inout Xoshiro256) {
        let p = pointer
        for i in 0..<count { p[i] = mean + std * rng.nextNormal() }
    }

    public func fill(_ value: Float) {
        pointer.update(repeating: value, count: count)
    }
}
