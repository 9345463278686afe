import ElectraKernels
import Foundation
import Testing

import Electra

/// Seeded random mutation of file bytes, for checking that a checkpoint reader given damaged
/// or hostile input either succeeds or throws `ElectraError`, never crashes or hangs. The same
/// seed gives the same mutants, so a failure reproduces.
///
///     var fuzzer = Fuzzer(seed: 1)
///     let summary = fuzzer.run(corpus: files, iterations: Fuzzer.iterations(default: 500)) { bytes in
///         _ = try Reader(bytes: bytes)
///     }
struct Fuzzer {
    var rng: Xoshiro256

    init(seed: UInt64) { rng = Xoshiro256(seed: seed) }

    /// ELECTRA_FUZZ_ITERATIONS when set (e.g. 1000000 for a long run), otherwise `fallback`.
    static func iterations(default fallback: Int) -> Int {
        ProcessInfo.processInfo.environment["ELECTRA_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? fallback
    }

    /// ELECTRA_FUZZ_SEED when set, otherwise `fallback`.
    static func seed(default fallback: UInt64) -> UInt64 {
        ProcessInfo.processInfo.environment["ELECTRA_FUZZ_SEED"].flatMap { UInt64($0) } ?? fallback
    }

    /// Uniform in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

    /// Values that tend to break length and offset checks.
    static let interesting: [UInt64] = [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000,
        0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ]

    /// Random edits of `bytes` (one with probability 1/2, two with 1/4, ... at most 8): bit
    /// flips, interesting bytes and integers, inserted, deleted or duplicated runs, truncation,
    /// and splices from `donor` when given. Few edits keep most of the structure, so mutants
    /// get past the first checks and reach the deeper ones.
    mutating func mutate(_ bytes: [UInt8], donor: [UInt8]? = nil) -> [UInt8] {
        var b = bytes
        let edits = 1 + min(7, (rng.next() | 1 << 63).trailingZeroBitCount)
        for _ in 0..<edits { edit(&b, donor: donor ?? bytes) }
        return b
    }

    mutating func edit(_ b: inout [UInt8], donor: [UInt8]) {
        let op = below(b.isEmpty ? 1 : 9)
        switch op {
        case 0:  // insert random bytes
            let at = below(b.count + 1)
            b.insert(contentsOf: (0..<(1 + below(16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        case 1:  // flip a bit
            b[below(b.count)] ^= 1 << UInt8(below(8))
        case 2:  // an interesting byte
            b[below(b.count)] = UInt8(truncatingIfNeeded: Self.interesting[below(Self.interesting.count)])
        case 3:  // an interesting 2-, 4- or 8-byte little-endian integer
            let width = [2, 4, 8][below(3)]
            var v = below(4) == 0 ? UInt64(below(b.count + 64)) : Self.interesting[below(Self.interesting.count)]
            let at = below(b.count)
            for i in at..<min(at + width, b.count) {
                b[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
            }
        case 4:  // delete a run
            let at = below(b.count)
            b.removeSubrange(at..<min(b.count, at + 1 + below(64)))
        case 5:  // truncate
            b.removeSubrange(below(b.count)...)
        case 6:  // duplicate a run elsewhere
            let from = below(b.count)
            let run = Array(b[from..<min(b.count, from + 1 + below(64))])
            b.insert(contentsOf: run, at: below(b.count + 1))
        case 7:  // overwrite with a run of the donor
            guard !donor.isEmpty else { return }
            let from = below(donor.count), at = below(b.count)
            let n = min(1 + below(64), donor.count - from, b.count - at)
            b.replaceSubrange(at..<(at + n), with: donor[from..<(from + n)])
        default:  // splice: our head, the donor's tail
            guard !donor.isEmpty else { return }
            b = Array(b[..<below(b.count)]) + donor[below(donor.count)...]
        }
    }

    struct Summary {
        var accepted = 0
        var rejected = 0
        var seconds = 0.0
    }

    /// Feeds `iterations` mutants of random corpus members (spliced with other members) to
    /// `body`, which must return or throw `ElectraError`; anything else is recorded as an issue.
    @discardableResult
    mutating func run(
        corpus: [[UInt8]], iterations: Int, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: ([UInt8]) throws -> Void
    ) -> Summary {
        var summary = Summary()
        let start = Date()
        for i in 0..<iterations {
            let input = mutate(corpus[below(corpus.count)], donor: corpus[below(corpus.count)])
            do {
                try body(input)
                summary.accepted += 1
            } catch is ElectraError {
                summary.rejected += 1
            } catch {
                Issue.record("mutant \(i) threw \(type(of: error)), not ElectraError: \(error)", sourceLocation: sourceLocation)
            }
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }
}
