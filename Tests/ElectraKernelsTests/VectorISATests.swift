import CVectorKernels
import Foundation
import Testing

@testable import ElectraKernels

/// The AVX2+FMA kernels (CVectorKernels) against libm and against the portable Swift SIMD
/// kernels they stand in for. On a CPU without AVX2+FMA (or with ELECTRA_NO_AVX2) the
/// dispatching entry points would take the portable path and compare it with itself: those
/// tests are skipped, naming the missing feature.
struct VectorISATests {
    static let avx2 = Testing.ConditionTrait.enabled(if: VectorISA.avx2, "needs AVX2+FMA (missing on this CPU, or capped by ELECTRA_NO_AVX2 or ELECTRA_MAX_ISA)")

    /// Odd lengths exercise the 8-lane tails.
    static let points: [Float] = KernelTests.points + [0.25, -0.5, 3]

    @Test func detectionAgreesWithTheCPUFlags() throws {
        #if os(Linux) && arch(x86_64)
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }!.split(separator: " ").map(String.init))
        #expect(VectorISA.cpuHasAVX2FMA == (flags.contains("avx2") && flags.contains("fma")))
        let env = ProcessInfo.processInfo.environment
        let capped = env["ELECTRA_NO_AVX2"] != nil || env["ELECTRA_MAX_ISA"]?.lowercased() == "sse"
        #expect(VectorISA.avx2 == (VectorISA.cpuHasAVX2FMA && !capped))
        #else
        #expect(!VectorISA.avx2)
        #endif
    }

    /// The array entry point (AVX2 where available) is the exact-erf GELU and agrees with
    /// the portable loop, with a bias and in the tail.
    @Test(avx2) func geluRowsMatchLibmAndThePortableLoop() {
        let xs = Self.points
        let columns = xs.count  // not a multiple of 8
        let bias = (0..<columns).map { Float($0 % 5) * 0.01 }
        var fast = xs, portable = xs
        bias.withUnsafeBufferPointer { b in
            fast.withUnsafeMutableBufferPointer { Activation.gelu.forward($0.baseAddress!, rows: 1, columns: columns, bias: b.baseAddress!) }
            portable.withUnsafeMutableBufferPointer { Activation.map($0.baseAddress!, 1, columns, b.baseAddress!, GeluKernel.self, portable: true) }
        }
        for i in 0..<columns {
            let x = Double(xs[i] + bias[i])
            let want = 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
            #expect(abs(Double(fast[i]) - want) <= 1e-6 * max(1, abs(want)), "gelu(\(x)) = \(fast[i]), want \(want)")
            #expect(abs(fast[i] - portable[i]) <= 1e-6 * max(1, abs(portable[i])), "gelu(\(x)): \(fast[i]) vs portable \(portable[i])")
        }
    }

    @Test(avx2) func geluBackwardMatchesThePortableLoop() {
        let xs = Self.points.filter { abs($0) < 20 }
        let dy = xs.indices.map { Float($0 % 7) - 3 }
        var fast = [Float](repeating: .nan, count: xs.count), portable = fast
        xs.withUnsafeBufferPointer { x in
            dy.withUnsafeBufferPointer { d in
                fast.withUnsafeMutableBufferPointer { Activation.gelu.backward(dx: $0.baseAddress!, dy: d.baseAddress!, pre: x.baseAddress!, count: xs.count) }
                portable.withUnsafeMutableBufferPointer { Activation.mapBackward($0.baseAddress!, d.baseAddress!, x.baseAddress!, xs.count, GeluKernel.self, portable: true) }
            }
        }
        for i in xs.indices {
            #expect(abs(fast[i] - portable[i]) <= 2e-6 * max(1, abs(portable[i])), "gelu'(\(xs[i])) * \(dy[i]): \(fast[i]) vs \(portable[i])")
        }
    }

    @Test(avx2) func expShiftedRowMatchesThePortableLoop() {
        var rng = Xoshiro256(seed: 11)
        for n in [1, 7, 8, 9, 128, 131] {
            let x = (0..<n).map { _ in 20 * rng.nextNormal() }
            var fast = x, portable = x
            let sum = expShiftedRow(&fast, n)
            let portableSum = expShiftedRowPortable(&portable, n, shift: x.max()!)
            #expect(abs(sum - portableSum) <= 1e-6 * portableSum, "n=\(n): \(sum) vs \(portableSum)")
            for i in 0..<n { #expect(abs(fast[i] - portable[i]) <= 1e-6 * max(portable[i], 1e-30), "n=\(n) i=\(i)") }
        }
        // Padding lanes of the tail must not leak into the sum.
        var one: [Float] = [5]
        #expect(expShiftedRow(&one, 1) == 1 && one == [1])
    }
}
