import CVectorKernels
import Foundation
import Testing

@testable import ElectraKernels

/// Kernels and products follow the CPU's features: detection agrees with the kernel's view of
/// the CPU (/proc/cpuinfo), nothing runs below the best level the CPU offers (a generic
/// fallback on a capable CPU fails here), and every C path this machine can run matches the
/// portable Swift reference. Paths it cannot run are skipped, naming the missing feature.
struct ISADispatchTests {
    static let env = ProcessInfo.processInfo.environment
    static let hasAVX2 = CPUFeatures.current.isSuperset(of: [.avx2, .fma])
    static let hasAVX512 = CPUFeatures.current.isSuperset(of: .avx512)

    @Test func detectionAgreesWithTheCPUFlags() throws {
        #if os(Linux) && arch(x86_64)
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }!.split(separator: " ").map(String.init))
        let f = CPUFeatures.current
        let pairs: [(CPUFeatures, String)] = [
            (.avx2, "avx2"), (.fma, "fma"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"), (.avx512dq, "avx512dq"),
            (.avx512vl, "avx512vl"), (.avx512vnni, "avx512_vnni"), (.avx512bf16, "avx512_bf16"), (.avxVNNI, "avx_vnni"),
            (.amxBF16, "amx_bf16"), (.amxInt8, "amx_int8"), (.amxTile, "amx_tile"),
        ]
        for (feature, flag) in pairs {
            #expect(f.contains(feature) == flags.contains(flag), "\(flag): CPUFeatures says \(f.contains(feature)), /proc/cpuinfo \(flags.contains(flag))")
        }
        print("CPU features: \(f)")
        #endif
    }

    /// A kernel-choosing variable set to a value the kernels do not know is named, with the
    /// values it takes (the kernels alone would ignore it).
    @Test func unknownKernelSettingsAreNamed() {
        #expect(KernelEnvironment.problem(in: [:]) == nil)
        let fine = ["ELECTRA_MAX_ISA": "AVX2", "ELECTRA_BF16": "portable", "ELECTRA_GEMM": "oneDNN", "ELECTRA_BF16_MATMUL": "0"]
        #expect(KernelEnvironment.problem(in: fine) == nil)
        let p = KernelEnvironment.problem(in: ["ELECTRA_BF16": "portabel"]) ?? ""
        #expect(p.contains("ELECTRA_BF16 is 'portabel'") && p.contains("'portable', 'onednn'"), "\(p)")
        #expect(KernelEnvironment.problem(in: ["ELECTRA_MAX_ISA": "avx3"])?.contains("ELECTRA_MAX_ISA is 'avx3'") == true)
        #expect(KernelEnvironment.problem(in: ["ELECTRA_BF16_MATMUL": "off"])?.contains("ELECTRA_BF16_MATMUL") == true)
    }

    /// The elementwise kernels run at the CPU's level unless the environment caps them.
    @Test(.enabled(if: env["ELECTRA_MAX_ISA"] == nil && env["ELECTRA_NO_AVX2"] == nil, "ELECTRA_MAX_ISA or ELECTRA_NO_AVX2 caps the kernels"))
    func elementwiseKernelsUseTheBestLevel() {
        #expect(VectorISA.level == CPUFeatures.current.level, "kernels at \(VectorISA.level), CPU offers \(CPUFeatures.current.level)")
    }

    /// OpenBLAS's sgemm kernels are at least the CPU's level (its own detection may fall back
    /// on a CPU newer than the library: BLASCore raises it).
    @Test(.enabled(if: env["OPENBLAS_CORETYPE"] == nil, "OPENBLAS_CORETYPE chooses the core"))
    func productsUseTheBestLevel() throws {
        #if canImport(CBLAS) || os(Linux)
        let core = BLASCore.choice.core
        let level = try #require(BLASCore.level(ofCore: core), "unknown OpenBLAS core \(core)")
        #expect(level >= CPUFeatures.current.level, "OpenBLAS \(core) (\(level)) below the CPU's \(CPUFeatures.current.level)")
        print("products: \(BLASCore.choice)")
        #endif
    }

    static let points: [Float] = KernelTests.points + [0.25, -0.5, 3] + (0..<37).map { Float($0) * 0.37 - 6 }

    /// (name, gelu, gelu backward, exp shifted) for each C level this CPU runs.
    typealias Path = (name: String, gelu: ForwardRun, backward: BackwardRun, exp: VectorISA.ExpRun)

    func check(_ p: Path) {
        let xs = Self.points
        let bias = xs.indices.map { Float($0 % 5) * 0.01 }
        var fast = xs, portable = xs
        bias.withUnsafeBufferPointer { b in
            fast.withUnsafeMutableBufferPointer { p.gelu($0.baseAddress!, b.baseAddress!, xs.count) }
            portable.withUnsafeMutableBufferPointer { Activation.map($0.baseAddress!, 1, xs.count, b.baseAddress!, GeluKernel.self, portable: true) }
        }
        for i in xs.indices {
            #expect(abs(fast[i] - portable[i]) <= 1e-6 * max(1, abs(portable[i])), "\(p.name) gelu(\(xs[i])): \(fast[i]) vs \(portable[i])")
        }
        let small = xs.filter { abs($0) < 20 }
        let dy = small.indices.map { Float($0 % 7) - 3 }
        var dFast = [Float](repeating: .nan, count: small.count), dPortable = dFast
        small.withUnsafeBufferPointer { x in
            dy.withUnsafeBufferPointer { d in
                dFast.withUnsafeMutableBufferPointer { p.backward(x.baseAddress!, d.baseAddress!, $0.baseAddress!, small.count) }
                dPortable.withUnsafeMutableBufferPointer { Activation.mapBackward($0.baseAddress!, d.baseAddress!, x.baseAddress!, small.count, GeluKernel.self, portable: true) }
            }
        }
        for i in small.indices {
            #expect(abs(dFast[i] - dPortable[i]) <= 2e-6 * max(1, abs(dPortable[i])), "\(p.name) gelu'(\(small[i]))")
        }
        var rng = Xoshiro256(seed: 11)
        for n in [1, 7, 8, 9, 15, 16, 17, 128, 131] {
            let x = (0..<n).map { _ in 20 * rng.nextNormal() }
            var e = x, reference = x
            let sum = e.withUnsafeMutableBufferPointer { p.exp($0.baseAddress!, n, x.max()!) }
            let referenceSum = expShiftedRowPortable(&reference, n, shift: x.max()!)
            #expect(abs(sum - referenceSum) <= 1e-6 * referenceSum, "\(p.name) n=\(n): \(sum) vs \(referenceSum)")
            for i in 0..<n { #expect(abs(e[i] - reference[i]) <= 1e-6 * max(reference[i], 1e-30), "\(p.name) n=\(n) i=\(i)") }
        }
    }

    @Test(.enabled(if: hasAVX2, "needs AVX2+FMA, which this CPU lacks"))
    func avx2KernelsMatchThePortableReference() {
        check(("AVX2", ek_gelu_avx2, ek_gelu_backward_avx2, ek_exp_shifted_avx2))
    }

    @Test(.enabled(if: hasAVX512, "needs AVX-512 F/BW/DQ/VL, which this CPU lacks"))
    func avx512KernelsMatchThePortableReference() {
        check(("AVX-512", ek_gelu_avx512, ek_gelu_backward_avx512, ek_exp_shifted_avx512))
    }
}

extension ISADispatchTests {
    /// The panel product (AVX-512, few rows) against the portable loop and OpenBLAS, odd sizes:
    /// a partial panel, a partial group of 4 panels, rows not a multiple of 4, with and without bias.
    @Test(.enabled(if: hasAVX512, "needs AVX-512 F/BW/DQ/VL, which this CPU lacks"))
    func panelProductMatchesTheReference() {
        var rng = Xoshiro256(seed: 12)
        for (m, n, k) in [(1, 16, 8), (7, 75, 33), (16, 200, 64), (48, 70, 130)] {
            let x = (0..<(m * k)).map { _ in rng.nextNormal() }
            let w = (0..<(n * k)).map { _ in rng.nextNormal() }
            let bias = (0..<n).map { _ in rng.nextNormal() }
            var panels = [Float](repeating: .nan, count: PanelGemm.count(rows: n, columns: k))
            w.withUnsafeBufferPointer { wp in panels.withUnsafeMutableBufferPointer { PanelGemm.pack(wp.baseAddress!, rows: n, columns: k, into: $0.baseAddress!) } }
            for withBias in [false, true] {
                var fast = [Float](repeating: .nan, count: m * n), portable = fast, blas = fast
                let b: [Float]? = withBias ? bias : nil
                panels.withUnsafeBufferPointer { p in
                    fast.withUnsafeMutableBufferPointer { PanelGemm.forward($0.baseAddress!, x, panels: p.baseAddress!, bias: b, rows: m, inFeatures: k, outFeatures: n) }
                    portable.withUnsafeMutableBufferPointer { ek_panels_portable(x, m, k, k, p.baseAddress!, 0, (n + 15) / 16, b, $0.baseAddress!, n) }
                }
                blas.withUnsafeMutableBufferPointer { linearForward($0.baseAddress!, x, weight: w, bias: b, rows: m, inFeatures: k, outFeatures: n) }
                let d1 = zip(fast, portable).map { abs($0 - $1) }.max()!, d2 = zip(fast, blas).map { abs($0 - $1) }.max()!
                #expect(d1 <= 1e-4 && d2 <= 1e-4, "m \(m) n \(n) k \(k) bias \(withBias): vs portable \(d1), vs OpenBLAS \(d2)")
            }
        }
    }
}

extension ISADispatchTests {
    /// LayerNorm forward and backward rows in C (AVX-512, or AVX2 where the kernels run at that
    /// level) against the Swift loops, with and without a residual, widths with tails.
    @Test(.enabled(if: VectorISA.level >= .avx2, "needs AVX2+FMA (missing, or capped by ELECTRA_MAX_ISA=sse)"))
    func layerNormRowsMatchThePortableLoops() {
        var rng = Xoshiro256(seed: 31)
        for (rows, n) in [(3, 7), (5, 16), (9, 130), (4, 768)] {
            let x = (0..<(rows * n)).map { _ in 3 * rng.nextNormal() + 1 }, res = (0..<(rows * n)).map { _ in rng.nextNormal() }
            let gamma = (0..<n).map { _ in 1 + 0.1 * rng.nextNormal() }, beta = (0..<n).map { _ in 0.1 * rng.nextNormal() }
            let dy = (0..<(rows * n)).map { _ in rng.nextNormal() }
            for residual in [false, true] {
                let r: [Float]? = residual ? res : nil
                var outs: [[Float]] = [], means: [[Float]] = [], rstds: [[Float]] = [], dxs: [[Float]] = [], dgs: [[Float]] = [], dbs: [[Float]] = []
                for portable in [false, true] {
                    var out = [Float](repeating: 0, count: rows * n), mean = [Float](repeating: 0, count: rows), rstd = mean
                    layerNormForward(&out, x, residual: r, gamma: gamma, beta: beta, rows: rows, columns: n, eps: 1e-12,
                                     mean: &mean, rstd: &rstd, portable: portable)
                    var dx = [Float](repeating: 0, count: rows * n), dg = [Float](repeating: 0, count: n), db = dg
                    layerNormBackward(dx: &dx, dGamma: &dg, dBeta: &db, dy: dy, input: x, residual: r, gamma: gamma,
                                      mean: mean, rstd: rstd, rows: rows, columns: n, portable: portable)
                    outs.append(out); means.append(mean); rstds.append(rstd); dxs.append(dx); dgs.append(dg); dbs.append(db)
                }
                func close(_ a: [Float], _ b: [Float], _ what: String) {
                    let scale = max(1, b.map(abs).max()!)
                    let d = zip(a, b).map { abs($0 - $1) }.max()!
                    #expect(d <= 2e-5 * scale, "rows \(rows) n \(n) residual \(residual) \(what): \(d)")
                }
                close(outs[0], outs[1], "out"); close(means[0], means[1], "mean"); close(rstds[0], rstds[1], "rstd")
                close(dxs[0], dxs[1], "dx"); close(dgs[0], dgs[1], "dGamma"); close(dbs[0], dbs[1], "dBeta")
            }
        }
    }
}

extension ISADispatchTests {
    /// The AVX-512 Adam updates equal the Swift lanes bit for bit (same operations, same order),
    /// over lengths with tails, both lerp branches of AdamW, with and without weight decay.
    @Test(.enabled(if: hasAVX512 && VectorISA.level == .avx512, "needs AVX-512 F/BW/DQ/VL (missing, or capped by ELECTRA_MAX_ISA)"))
    func adamUpdatesMatchThePortableLanesExactly() {
        var rng = Xoshiro256(seed: 41)
        for n in [1, 15, 16, 17, 1000] {
            let p0 = (0..<n).map { _ in rng.nextNormal() }, g = (0..<n).map { _ in 0.1 * rng.nextNormal() }
            let m0 = (0..<n).map { _ in 0.01 * rng.nextNormal() }, v0 = (0..<n).map { _ in abs(0.001 * rng.nextNormal()) }
            for beta1: Float in [0.9, 0.3] {
                let s = AdamWScalars(decayFactor: 0.999, beta1: beta1, oneMinusBeta1: 1 - beta1, beta2: 0.999, oneMinusBeta2: 0.001,
                                     negStepSize: -1e-3, bc2Sqrt: 0.7, epsilon: 1e-8)
                var pa = p0, ma = m0, va = v0, pb = p0, mb = m0, vb = v0, ga = g, gb = g
                adamWUpdate(&pa, &ga, &ma, &va, n, s)
                adamWUpdate(&pb, &gb, &mb, &vb, n, s, portable: true)
                #expect(pa == pb && ma == mb && va == vb, "AdamW n \(n) beta1 \(beta1)")
            }
            for wd: Float in [0, 0.01] {
                let s = ElectraScalars(learningRate: 1e-3, weightDecay: wd, beta1: 0.9, oneMinusBeta1: 0.1, beta2: 0.999,
                                       oneMinusBeta2: 0.001, epsilon: 1e-6)
                var pa = p0, ma = m0, va = v0, pb = p0, mb = m0, vb = v0, ga = g, gb = g
                electraUpdate(&pa, &ga, &ma, &va, n, s)
                electraUpdate(&pb, &gb, &mb, &vb, n, s, portable: true)
                #expect(pa == pb && ma == mb && va == vb, "ELECTRA n \(n) wd \(wd)")
            }
        }
    }
}

/// oneDNN's sgemm (loaded at run time), the AVX-512 dropout masks and attention loops, and the
/// in-place cross-entropy: each against its reference.
struct ProductBackendTests {
    static let env = ProcessInfo.processInfo.environment

    /// On an AVX-512 CPU with oneDNN installed, products run on oneDNN (measured faster than
    /// OpenBLAS there, BENCHMARKS.md); anywhere else on OpenBLAS at the CPU's level.
    @Test(.enabled(if: env["ELECTRA_GEMM"] == nil && env["ELECTRA_MAX_ISA"] == nil, "ELECTRA_GEMM or ELECTRA_MAX_ISA chooses"))
    func backendFollowsTheCPUAndWhatIsInstalled() {
        let want: GemmBackend = VectorISA.level == .avx512 && GemmBackend.oneDNNAvailable ? .onednn : .openblas
        #expect(GemmBackend.current == want)
        if !GemmBackend.oneDNNAvailable { print("oneDNN not installed (libdnnl.so.2): products on OpenBLAS") }
        print("products: \(GemmBackend.current)")
    }

    /// Every transpose combination, odd sizes, padded leading dimensions, beta 0 and 1.3.
    @Test(.enabled(if: GemmBackend.oneDNNAvailable, "oneDNN (libdnnl) is not installed"))
    func oneDNNProductsMatchOpenBLAS() {
        var rng = Xoshiro256(seed: 8)
        for (m, n, k) in [(3, 5, 7), (64, 48, 33), (130, 17, 256), (16, 768, 256)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    for beta: Float in [0, 1.3] {
                        let lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 3
                        let a = (0..<((transA ? k : m) * lda)).map { _ in rng.nextNormal() }
                        let b = (0..<((transB ? n : k) * ldb)).map { _ in rng.nextNormal() }
                        let c0 = (0..<(m * ldc)).map { _ in rng.nextNormal() }
                        var viaDNNL = c0, viaBLAS = c0
                        #expect(ek_onednn_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, 0.7, a, lda, b, ldb, beta, &viaDNNL, ldc) == 0)
                        cblasReference(transA, transB, m, n, k, 0.7, a, lda, b, ldb, beta, &viaBLAS, ldc)
                        let worst = zip(viaDNNL, viaBLAS).map { abs($0 - $1) }.max()!
                        #expect(worst <= 1e-4 * Float(k), "\(m)x\(n)x\(k) transA \(transA) transB \(transB) beta \(beta): \(worst)")
                    }
                }
            }
        }
    }

    func cblasReference(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: [Float], _ lda: Int,
                        _ b: [Float], _ ldb: Int, _ beta: Float, _ c: inout [Float], _ ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var dot: Float = 0
                for t in 0..<k { dot += (ta ? a[t * lda + i] : a[i * lda + t]) * (tb ? b[j * ldb + t] : b[t * ldb + j]) }
                c[i * ldc + j] = alpha * dot + beta * c[i * ldc + j]
            }
        }
    }

    @Test(.enabled(if: CPUFeatures.current.contains(.avx2), "the CPU lacks AVX2"))
    func avx2DropoutMasksEqualThePortableOnes() {
        for count in [1, 2, 7, 8, 9, 33, 1000, 40_001] {
            for p: Float in [0.1, 0.5, 0.9] {
                let key: UInt64 = 0xFEDC_BA98_7654_3210 &+ UInt64(count)
                let threshold = UInt64(Double(p) * 4_294_967_296.0), keep = 1 / (1 - p)
                var fast = [Float](repeating: -1, count: count), slow = fast
                // Two ranges, the second starting mid-group, as the threads split the pairs.
                let pairs = (count + 1) / 2, cut = pairs / 3
                ek_dropout_mask_avx2(&fast, count, key, UInt32(threshold), keep, 0, cut)
                ek_dropout_mask_avx2(&fast, count, key, UInt32(threshold), keep, cut, pairs)
                DropoutContext(seed: 0).fillMaskPortable(&slow, count: count, key: key, threshold: threshold, keep: keep)
                #expect(fast == slow, "count \(count) p \(p)")
                let dropped = Double(fast.filter { $0 == 0 }.count) / Double(count)
                if count > 10_000 { #expect(abs(dropped - Double(p)) < 0.02) }
            }
        }
    }

    @Test(.enabled(if: CPUFeatures.current.isSuperset(of: .avx512), "the CPU lacks AVX-512 (F/BW/DQ/VL)"))
    func avx512DropoutMasksEqualThePortableOnes() {
        for count in [1, 2, 15, 16, 17, 33, 1000, 40_001] {
            for p: Float in [0.1, 0.5] {
                let key: UInt64 = 0x1234_5678_9ABC_DEF0 &+ UInt64(count)
                let threshold = UInt64(Double(p) * 4_294_967_296.0), keep = 1 / (1 - p)
                var fast = [Float](repeating: -1, count: count), slow = fast
                ek_dropout_mask_avx512(&fast, count, key, UInt32(threshold), keep, 0, (count + 1) / 2)
                DropoutContext(seed: 0).fillMaskPortable(&slow, count: count, key: key, threshold: threshold, keep: keep)
                #expect(fast == slow, "count \(count) p \(p)")
                let dropped = Double(fast.filter { $0 == 0 }.count) / Double(count)
                if count > 10_000 { #expect(abs(dropped - Double(p)) < 0.02) }
            }
        }
    }

    @Test(.enabled(if: CPUFeatures.current.isSuperset(of: .avx512), "the CPU lacks AVX-512 (F/BW/DQ/VL)"))
    func avx512AttentionLoopsMatchTheSwiftOnes() {
        var rng = Xoshiro256(seed: 2)
        for n in [1, 7, 16, 31, 128] {
            let rows = 3
            let a = (0..<(rows * n)).map { _ in rng.nextNormal() }, b = (0..<(rows * n)).map { _ in rng.nextUniform() }
            var fast = [Float](repeating: 0, count: rows * n)
            ek_multiply_avx512(&fast, a, b, rows * n)
            #expect(fast == zip(a, b).map { $0 * $1 })
            var p = b
            for r in 0..<rows { p.withUnsafeMutableBufferPointer { softmaxRow($0.baseAddress! + r * n, n) } }
            var want = a
            for r in 0..<rows { want.withUnsafeMutableBufferPointer { w in p.withUnsafeBufferPointer { softmaxRowBackward(w.baseAddress! + r * n, dp: w.baseAddress! + r * n, p: $0.baseAddress! + r * n, n) } } }
            var got = a
            ek_softmax_backward_rows_avx512(&got, got, p, rows, n)
            #expect(zip(got, want).map { abs($0 - $1) }.max()! <= 1e-6, "n \(n)")
        }
    }

    /// The gradient may replace the logits in place (the generator's vocabulary-wide buffer):
    /// same loss and gradient as into a separate buffer, and as the definition.
    @Test func crossEntropyInPlaceMatchesTheDefinition() {
        var rng = Xoshiro256(seed: 4)
        let rows = 37, classes = 1001
        let logits = (0..<(rows * classes)).map { _ in 3 * rng.nextNormal() }
        let labels = (0..<rows).map { $0 % 5 == 0 ? -100 : Int(rng.next() % UInt64(classes)) }
        var separate = [Float](repeating: 0, count: rows * classes)
        let l1 = softmaxCrossEntropy(logits: logits, rows: rows, classes: classes, labels: labels, ignoreIndex: -100, grad: &separate, gradScale: 2)
        var inPlace = logits
        let l2 = inPlace.withUnsafeMutableBufferPointer {
            softmaxCrossEntropy(logits: $0.baseAddress!, rows: rows, classes: classes, labels: labels, ignoreIndex: -100, grad: $0.baseAddress!, gradScale: 2)
        }
        #expect(l1 == l2 && separate == inPlace)
        var total = 0.0
        let used = labels.filter { $0 != -100 }.count
        for i in 0..<rows where labels[i] != -100 {
            let row = logits[(i * classes)..<((i + 1) * classes)].map(Double.init)
            let m = row.max()!
            let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            total += lse - row[labels[i]]
            for c in [0, labels[i], classes - 1] {
                let want = 2 * (exp(row[c] - lse) - (c == labels[i] ? 1 : 0)) / Double(used)
                #expect(abs(Double(separate[i * classes + c]) - want) < 1e-6, "row \(i) class \(c)")
            }
        }
        #expect(abs(Double(l1) - total / Double(used)) < 1e-4)
        // Rows with ignored labels get no gradient; the others sum to zero (softmax minus one-hot).
        for i in 0..<rows {
            let g = separate[(i * classes)..<((i + 1) * classes)]
            if labels[i] == -100 { #expect(g.allSatisfy { $0 == 0 }) } else { #expect(abs(g.reduce(0, +)) < 1e-5) }
        }
    }
}
