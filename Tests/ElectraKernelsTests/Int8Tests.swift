import CVectorKernels
import Foundation
import Testing

@testable import ElectraKernels

/// int8 dynamic quantization: every product kernel this CPU runs gives exactly the portable
/// loop's int32 sums (integer arithmetic has no rounding to forgive), the fused
/// dequantization equals the formula, and a quantized product stays close to fp32.
struct Int8Tests {
    static let f = CPUFeatures.current
    static let vnni = Testing.ConditionTrait.enabled(
        if: f.isSuperset(of: .avx512) && f.contains(.avx512vnni), "needs AVX512-VNNI (with F/BW/VL), which this CPU lacks")
    static let avx2 = Testing.ConditionTrait.enabled(if: f.isSuperset(of: [.avx2, .fma]), "needs AVX2, which this CPU lacks")
    static let avxvnni = Testing.ConditionTrait.enabled(
        if: f.isSuperset(of: [.avx2, .fma, .avxVNNI]), "needs AVX-VNNI, which this CPU lacks (its scalar model runs instead)")

    /// Odd sizes: a partial output block, k not a multiple of 4, rows past one 48-row tile and
    /// not a multiple of 4 or 6.
    struct Case {
        let m = 53, n = 75, k = 258
        var kp: Int { (k + 3) & ~3 }
        var blocks: Int { (n + 15) / 16 }
        let w: [Int8]
        let a: [UInt8]

        init() {
            var rng = Xoshiro256(seed: 5)
            let (m, n, k) = (53, 75, 258)
            w = (0..<(n * k)).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
            let kp = (k + 3) & ~3
            a = (0..<(m * kp)).map { i in i % kp < k ? UInt8(truncatingIfNeeded: rng.next()) : 128 }
        }

        /// Σ_t a[i, t] w[j, t] in plain integer arithmetic.
        func reference(_ i: Int, _ j: Int) -> Int32 {
            var s: Int32 = 0
            for t in 0..<k { s += Int32(a[i * kp + t]) * Int32(w[j * k + t]) }
            return s
        }

        /// The kernel's sums, with the weights packed in its layout and the rows in its width.
        func sums(_ kernel: Int8Kernel) -> [Int32] {
            var packed = [Int8](repeating: 0, count: blocks * 16 * kp)
            w.withUnsafeBufferPointer { src in packed.withUnsafeMutableBufferPointer { kernel.pack(src.baseAddress!, n, k, $0.baseAddress!) } }
            var c = [Int32](repeating: -1, count: m * blocks * 16)
            let run = { (ap: UnsafeRawPointer) in
                packed.withUnsafeBufferPointer { pp in
                    c.withUnsafeMutableBufferPointer {
                        kernel.sums(ap, m, kp, kp, pp.baseAddress!, 0, blocks, $0.baseAddress!, blocks * 16)
                    }
                }
            }
            if kernel.activationBytes == 2 { a.map(UInt16.init).withUnsafeBytes { run($0.baseAddress!) } } else { a.withUnsafeBytes { run($0.baseAddress!) } }
            return c
        }
    }

    func checkSums(_ kernel: Int8Kernel) {
        let c = Case()
        let got = c.sums(kernel)
        var wrong = 0
        for i in 0..<c.m { for j in 0..<c.n where got[i * c.blocks * 16 + j] != c.reference(i, j) { wrong += 1 } }
        #expect(wrong == 0, "\(kernel.rawValue): \(wrong) of \(c.m * c.n) sums differ")
    }

    @Test func portableSumsAreExact() { checkSums(.portable) }
    @Test(avx2) func avx2SumsAreExact() { checkSums(.avx2) }
    @Test(vnni) func vnniSumsAreExact() { checkSums(.vnni) }
    @Test(avxvnni) func avxVNNISumsAreExact() { checkSums(.avxvnni) }
    /// The AVX-VNNI kernel's tiling and layout with vpdpbusd modelled in scalar code: tested on
    /// every AVX2 CPU, so that only the instruction itself needs an AVX-VNNI one.
    @Test(avx2) func avxVNNIModelSumsAreExact() { checkSums(.avxvnniModel) }

    /// The fused product (quantize rows, int8 product, dequantize with bias) of each kernel
    /// against the same formula in Swift, from the same quantized inputs.
    func checkFused(_ kernel: Int8Kernel) {
        var rng = Xoshiro256(seed: 8)
        let (m, n, k) = (21, 40, 70)  // 21 rows: three 6-row tiles and a 3-row rest
        let x = (0..<(m * k)).map { _ in 2 * rng.nextNormal() }
        let w = (0..<(n * k)).map { _ in 0.1 * rng.nextNormal() }
        let bias = (0..<n).map { _ in rng.nextNormal() }
        let q = w.withUnsafeBufferPointer { QuantizedWeight(weight: $0.baseAddress!, rows: n, columns: k, kernel: kernel) }
        let kp = q.kp
        // The kernel's quantized rows, in its width, and the portable loop's u8 rows.
        var raw = [UInt8](repeating: 0, count: m * kp * kernel.activationBytes), rs = [Float](repeating: 0, count: m)
        var aPortable = [UInt8](repeating: 0, count: m * kp), rsPortable = rs
        x.withUnsafeBufferPointer { xp in
            raw.withUnsafeMutableBytes { ap in rs.withUnsafeMutableBufferPointer { kernel.quantize(xp.baseAddress!, m, k, k, ap.baseAddress!, kp, $0.baseAddress!) } }
            aPortable.withUnsafeMutableBufferPointer { ap in rsPortable.withUnsafeMutableBufferPointer { ek_quantize_rows_u8(xp.baseAddress!, m, k, k, ap.baseAddress!, kp, $0.baseAddress!) } }
        }
        let a: [Int] = kernel.activationBytes == 2
            ? raw.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)).map(Int.init) } : raw.map(Int.init)
        #expect(a == aPortable.map(Int.init) && rs == rsPortable, "\(kernel.rawValue): quantized rows differ from the portable loop")
        var y = [Float](repeating: .nan, count: m * n)
        raw.withUnsafeBytes { ap in
            y.withUnsafeMutableBufferPointer { yp in
                q.scales.withUnsafeBufferPointer { ws in
                    q.correction.withUnsafeBufferPointer { corr in
                        kernel.product(ap.baseAddress!, m, kp, q.packed, 0, q.blocks, corr.baseAddress!, ws.baseAddress!, rs, bias, yp.baseAddress!, n)
                    }
                }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                var sum: Int32 = 0
                for t in 0..<kp { sum += Int32(a[i * kp + t]) * Int32(q.quantized(j, t)) }
                let want = Float(sum - q.correction[j]) * (rs[i] * q.scales[j]) + bias[j]
                #expect(abs(y[i * n + j] - want) <= 1e-5 * max(1, abs(want)), "\(kernel.rawValue) [\(i), \(j)]: \(y[i * n + j]) vs \(want)")
            }
        }
        // And the whole thing is near the fp32 product: |error| within 2% of the output scale.
        var worst: Float = 0, scale: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                var exact: Float = bias[j]
                for t in 0..<k { exact += x[i * k + t] * w[j * k + t] }
                worst = max(worst, abs(y[i * n + j] - exact))
                scale = max(scale, abs(exact))
            }
        }
        #expect(worst <= 0.02 * scale, "\(kernel.rawValue): int8 vs fp32 worst \(worst) of \(scale)")
    }

    /// The forward splits output blocks across threads: any thread count gives the same bits
    /// as one thread (each output is one thread's, with the same arithmetic).
    @Test func forwardIsTheSameOnAnyThreadCount() {
        var rng = Xoshiro256(seed: 9)
        let (m, n, k) = (50, 200, 96)  // 13 blocks of 16 outputs, the last one partial
        let x = (0..<(m * k)).map { _ in rng.nextNormal() }
        let w = (0..<(n * k)).map { _ in 0.1 * rng.nextNormal() }
        let bias = (0..<n).map { _ in rng.nextNormal() }
        let q = w.withUnsafeBufferPointer { QuantizedWeight(weight: $0.baseAddress!, rows: n, columns: k, kernel: .current) }
        func run(_ threads: Int) -> [Float] {
            var y = [Float](repeating: .nan, count: m * n)
            Parallel.withThreads(threads) {
                y.withUnsafeMutableBufferPointer { yp in
                    x.withUnsafeBufferPointer { xp in bias.withUnsafeBufferPointer { q.forward(yp.baseAddress!, xp.baseAddress!, rows: m, bias: $0.baseAddress!) } }
                }
            }
            return y
        }
        let one = run(1)
        #expect(one.allSatisfy { $0.isFinite })
        for t in [2, 3] { #expect(run(t) == one, "\(t) threads differ from one") }
    }

    @Test func portableFusedProduct() { checkFused(.portable) }
    @Test(avx2) func avx2FusedProduct() { checkFused(.avx2) }
    @Test(vnni) func vnniFusedProduct() { checkFused(.vnni) }
    @Test(avxvnni) func avxVNNIFusedProduct() { checkFused(.avxvnni) }
    @Test(avx2) func avxVNNIModelFusedProduct() { checkFused(.avxvnniModel) }

    /// The best kernel the CPU has is the one in use (a CPU with AVX512-VNNI never runs a lesser one).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ELECTRA_MAX_ISA"] == nil && ProcessInfo.processInfo.environment["ELECTRA_NO_AVX2"] == nil, "the environment caps the kernels"))
    func bestInt8KernelIsChosen() {
        let f = Self.f
        let want: Int8Kernel = f.isSuperset(of: .avx512) && f.contains(.avx512vnni) ? .vnni
            : f.isSuperset(of: [.avx2, .fma, .avxVNNI]) ? .avxvnni : f.isSuperset(of: [.avx2, .fma]) ? .avx2 : .portable
        #expect(Int8Kernel.current == want)
    }
}
