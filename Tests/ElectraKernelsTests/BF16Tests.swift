import CVectorKernels
import Foundation
import Testing

@testable import ElectraKernels

/// bf16: conversions give PyTorch's bits (round to nearest even, NaN kept), the AVX-512 ones
/// the portable ones; products of bf16 operands equal the fp64 product of the same rounded
/// values up to fp32 accumulation, on every kernel this machine runs.
struct BF16Tests {
    static let f = CPUFeatures.current
    static let nativeConversion = Testing.ConditionTrait.enabled(
        if: f.isSuperset(of: .avx512) && f.contains(.avx512bf16), "needs AVX512-BF16, which this CPU lacks")
    static let onednn = Testing.ConditionTrait.enabled(
        if: BF16Kernel.current == .onednn,
        "needs AMX-BF16 or AVX512-BF16 and oneDNN (libdnnl) with dnnl_gemm_bf16bf16f32: \(BF16Kernel.summary)")

    static let matmul = Testing.ConditionTrait.enabled(
        if: bf16UsesMatmulPrimitive, "needs oneDNN 2.x's matmul primitive on a bf16 CPU: \(BF16Kernel.summary)")

    /// Round to nearest even on the bit pattern, as torch.bfloat16 does.
    static func reference(_ x: Float) -> UInt16 {
        if x.isNaN { return UInt16(x.bitPattern >> 16) | 0x40 }
        let u = x.bitPattern
        return UInt16((u &+ 0x7fff &+ ((u >> 16) & 1)) >> 16)
    }

    static var values: [Float] {
        var rng = Xoshiro256(seed: 3)
        var v: [Float] = (0..<1000).map { _ in Float(rng.nextUniform() * 2 - 1) * Float(pow(2.0, Double(Int(rng.next() % 40) - 20))) }
        // Ties (both ways), the largest finite value rounding up to infinity, subnormals,
        // signed zeros, infinities, and NaNs whose payload sits only in the low bits.
        v += [1.00390625, 1.01171875, -1.00390625, .greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0, 0,
              .infinity, -.infinity, Float(bitPattern: 0x7f80_0001), Float(bitPattern: 0xff80_0001), .nan]
        return v
    }

    @Test func portableConversionRoundsToNearestEven() {
        let v = Self.values
        var out = [UInt16](repeating: 0, count: v.count)
        ek_f32_to_bf16(v, &out, v.count)
        for (x, b) in zip(v, out) { #expect(b == Self.reference(x), "\(x) (\(String(x.bitPattern, radix: 16)))") }
        #expect(out[v.count - 12] == 0x3f80 && out[v.count - 11] == 0x3f82)  // ties to even: down, then up
        #expect(Float(bitPattern: UInt32(out[v.count - 9]) << 16) == .infinity)
        for i in (v.count - 3)..<v.count { #expect(Float(bitPattern: UInt32(out[i]) << 16).isNaN) }
        var back = [Float](repeating: 0, count: v.count)
        ek_bf16_to_f32(out, &back, v.count)
        for (b, x) in zip(out, back) { #expect(x.bitPattern == UInt32(b) << 16) }
    }

    @Test(nativeConversion) func avx512ConversionGivesThePortableBits() {
        let v = Self.values + Self.values.reversed()  // odd tails for the 32- and 16-wide loops
        for n in [v.count, 47, 16, 5] {
            var portable = [UInt16](repeating: 0, count: n), native = [UInt16](repeating: 1, count: n)
            ek_f32_to_bf16(v, &portable, n)
            ek_f32_to_bf16_avx512bf16(v, &native, n)
            #expect(portable == native, "n = \(n)")
            var a = [Float](repeating: 0, count: n), b = [Float](repeating: 1, count: n)
            ek_bf16_to_f32(portable, &a, n)
            ek_bf16_to_f32_avx512(portable, &b, n)
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        }
    }

    /// Every transpose, odd sizes, padded leading dimensions, beta 0 and 1.3.
    func checkProduct(_ kernel: BF16Kernel) {
        var rng = Xoshiro256(seed: 9)
        for (m, n, k) in [(37, 75, 130), (1, 64, 33), (130, 17, 256), (5, 3, 0)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    for beta: Float in [0, 1.3] {
                        let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                        let a = (0..<((transA ? k : m) * lda)).map { _ in Self.reference(Float(rng.nextUniform() * 2 - 1)) }
                        let b = (0..<((transB ? n : k) * ldb)).map { _ in Self.reference(Float(rng.nextUniform() * 2 - 1)) }
                        let c0 = (0..<(m * ldc)).map { _ in Float(rng.nextUniform()) }
                        var c = c0
                        bf16gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb,
                                 beta: beta, c: &c, ldc: ldc, kernel: kernel)
                        func w(_ x: UInt16) -> Double { Double(Float(bitPattern: UInt32(x) << 16)) }
                        var worst = 0.0
                        for i in 0..<m {
                            for j in 0..<n {
                                var s = 0.0
                                for t in 0..<k {
                                    s += w(transA ? a[t * lda + i] : a[i * lda + t]) * w(transB ? b[j * ldb + t] : b[t * ldb + j])
                                }
                                worst = max(worst, abs(Double(c[i * ldc + j]) - (0.7 * s + Double(beta) * Double(c0[i * ldc + j]))))
                            }
                            #expect(c[i * ldc + n] == c0[i * ldc + n], "wrote past the row")
                        }
                        // fp32 accumulation of k products of magnitude <= 1.
                        #expect(worst <= 1e-6 * Double(k + 2), "\(kernel) \(m)x\(n)x\(k) tA \(transA) tB \(transB) beta \(beta): \(worst)")
                    }
                }
            }
        }
    }

    @Test func portableProduct() { checkProduct(.portable) }
    @Test(onednn) func oneDNNProduct() { checkProduct(.onednn) }

    /// The threaded product with a bias row equals the single-threaded one.
    @Test func parallelProductWithBias() {
        var rng = Xoshiro256(seed: 4)
        let (m, n, k) = (200, 96, 160)
        let a = (0..<(m * k)).map { _ in Self.reference(Float(rng.nextUniform() * 2 - 1)) }
        let b = (0..<(n * k)).map { _ in Self.reference(Float(rng.nextUniform() * 2 - 1)) }
        let bias = (0..<n).map { _ in Float(rng.nextUniform()) }
        var one = [Float](repeating: .nan, count: m * n), many = one
        for j in 0..<m { for i in 0..<n { one[j * n + i] = bias[i] } }
        bf16gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 1, c: &one, ldc: n)
        Parallel.withThreads(2) {
            parallelBF16Gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k,
                             beta: 0, c: &many, ldc: n, rowInit: bias)
        }
        #expect(zip(one, many).allSatisfy { abs($0 - $1) <= 1e-5 })
    }

    /// The matmul-primitive route of parallelBF16Gemm (K <= 1024): with a bias, beta 0, beta 1
    /// (the sum post-op) and alpha 0.7 with beta 1 (output scales), B transposed or not, padded leading dimensions,
    /// split across 2 threads by rows and by columns; and K beyond the limit (the gemm API).
    /// Each against the fp64 product of the same bf16 values.
    @Test(matmul) func matmulPrimitiveRoute() {
        var rng = Xoshiro256(seed: 21)
        func w(_ x: UInt16) -> Double { Double(Float(bitPattern: UInt32(x) << 16)) }
        // The primitive itself takes the encoder's shapes (else every case below would only
        // test the fallback).
        let one = [UInt16](repeating: 0x3F80, count: 64 * 256)
        var out = [Float](repeating: 0, count: 64 * 64)
        #expect(ek_onednn_matmul_bf16(0, 1, 64, 64, 256, 1, one, 256, one, 256, 0, &out, 64, nil) == 0)
        #expect(out.allSatisfy { $0 == 256 })
        for (m, n, k) in [(300, 40, 256), (24, 520, 64), (7, 9, 1100)] {
            for transB in [false, true] {
                for mode in ["bias", "beta0", "beta1", "alpha"] {
                    let alpha: Float = mode == "alpha" ? 0.7 : 1
                    let lda = k + 5, ldb = (transB ? k : n) + 3, ldc = n + 2
                    let a = (0..<(m * lda)).map { _ in Self.reference(Float(rng.nextUniform() * 2 - 1)) }
                    let b = (0..<((transB ? n : k) * ldb)).map { _ in Self.reference(Float(rng.nextUniform() * 2 - 1)) }
                    let bias = (0..<n).map { _ in Float(rng.nextUniform()) }
                    let c0 = (0..<(m * ldc)).map { _ in Float(rng.nextUniform()) }
                    var c = c0
                    Parallel.withThreads(2) {
                        bias.withUnsafeBufferPointer { bp in
                            parallelBF16Gemm(transA: false, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                             beta: mode == "beta0" || mode == "bias" ? 0 : 1, c: &c, ldc: ldc, rowInit: mode == "bias" ? bp.baseAddress : nil)
                        }
                    }
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var p = 0.0
                            for t in 0..<k { p += w(a[i * lda + t]) * w(transB ? b[j * ldb + t] : b[t * ldb + j]) }
                            let s = Double(alpha) * p + (mode == "bias" ? Double(bias[j]) : mode == "beta0" ? 0 : Double(c0[i * ldc + j]))
                            worst = max(worst, abs(Double(c[i * ldc + j]) - s))
                        }
                        for j in n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j], "wrote past the row") }
                    }
                    #expect(worst <= 1e-6 * Double(k + 2), "\(m)x\(n)x\(k) tB \(transB) \(mode): \(worst)")
                }
            }
        }
    }

    /// The activation fused into a bf16 product's input (GELU on AVX512-BF16, the others as
    /// two passes) gives exactly the product of the rounded activation: the same bits, with a
    /// bias, rows split across threads and a row length that leaves a tail.
    @Test(arguments: [Activation.gelu, .relu])
    func activationFusedIntoTheProduct(_ activation: Activation) {
        var rng = Xoshiro256(seed: 12)
        let (m, k, n) = (70, 87, 40)
        let x = (0..<(m * k)).map { _ in Float(rng.nextUniform() * 6 - 3) }
        let weight = (0..<(n * k)).map { _ in Float(rng.nextUniform() * 2 - 1) }
        let bias = (0..<n).map { _ in Float(rng.nextUniform()) }
        let w = BF16Weight(weight: weight, rows: n, columns: k)
        var fused = [Float](repeating: 0, count: m * n), twoPass = fused
        var pre = x, act = x
        Parallel.withThreads(2) {
            w.forward(&fused, activating: &pre, activation, rows: m, bias: bias)
            activation.forward(&act, rows: m, columns: k)
            w.forward(&twoPass, act, rows: m, bias: bias)
        }
        #expect(fused == twoPass)
        #expect(fused.contains { $0 != 0 })
    }

    /// A user's bf16 request (issue 28: never slower than fp32) runs natively only on AMX, or
    /// where ELECTRA_BF16 asks; in fp32 where bf16 would be slower, with a note that says why.
    @Test func bf16RequestsTakeTheRouteThatIsNotSlower() {
        let env = ProcessInfo.processInfo.environment["ELECTRA_BF16"]?.lowercased()
        switch BF16Kernel.route {
        case .native:
            #expect(BF16Kernel.current == .onednn && (Self.f.contains(.amxBF16) || env == "onednn"))
            #expect(BF16Kernel.requestNote == nil)
        case .portable:
            #expect(BF16Kernel.current == .portable && env == "portable")
            #expect(BF16Kernel.requestNote?.contains("saves weight memory but not time") == true)
        case .fp32:
            #expect(env != "portable" && env != "onednn")
            #expect(BF16Kernel.current == .portable || !Self.f.contains(.amxBF16))
            let note = BF16Kernel.requestNote ?? ""
            #expect(note.contains("run in fp32 here") && note.contains(BF16Kernel.current == .onednn ? "no AMX-BF16" : "ELECTRA_BF16=portable"), "\(note)")
        }
    }
}
