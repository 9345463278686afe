import Foundation
import Testing

@testable import ElectraKernels

/// The SIMD transcendental kernels against libm in double precision.
struct KernelTests {
    /// A sweep of points covering tails, zero, and the range where GELU bends.
    static let points: [Float] = stride(from: -12.0, through: 12.0, by: 0.0137).map { Float($0) } + [0, -0.0, 1e-8, -1e-8, 88, -88, -100, 100]

    func apply(_ f: (Vec) -> Vec, _ xs: [Float]) -> [Float] {
        var out = xs
        out.withUnsafeMutableBufferPointer { mapInPlace($0.baseAddress!, xs.count, f) }
        return out
    }

    @Test func transposeMovesEveryElement() {
        for (r, c) in [(1, 1), (3, 5), (37, 64), (130, 7)] {
            let src = (0..<(r * c)).map { Float($0) }
            var dst = [Float](repeating: -1, count: r * c)
            src.withUnsafeBufferPointer { s in
                dst.withUnsafeMutableBufferPointer { transpose(s.baseAddress!, rows: r, columns: c, into: $0.baseAddress!) }
            }
            for i in 0..<r { for j in 0..<c { #expect(dst[j * r + i] == src[i * c + j], "\(r)x\(c) [\(i), \(j)]") } }
        }
    }

    @Test func expMatchesLibm() {
        let xs = Self.points.filter { $0 > -87 && $0 < 88 }
        let ys = apply(vexp, xs)
        for (x, y) in zip(xs, ys) {
            let want = Foundation.exp(Double(x))
            #expect(abs(Double(y) - want) <= 3e-7 * want, "exp(\(x)) = \(y), want \(want)")
        }
        #expect(apply(vexp, [-100, -Float.greatestFiniteMagnitude]) == [0, 0])
    }

    @Test func geluIsTheExactErfForm() {
        let ys = apply(Activation.gelu.apply, Self.points)
        for (x, y) in zip(Self.points, ys) {
            let xd = Double(x)
            let want = 0.5 * xd * (1 + Foundation.erf(xd / 2.0.squareRoot()))
            #expect(abs(Double(y) - want) <= 1e-6 * max(1, abs(want)), "gelu(\(x)) = \(y), want \(want)")
        }
        // The tanh approximation is off by up to ~5e-4: parity needs the erf form, not it.
        let approx = apply(Activation.geluNew.apply, Self.points)
        let gap = zip(approx, ys).map { abs($0 - $1) }.max()!
        #expect(gap > 2e-4)
    }

    @Test func otherActivationsMatchTheirDefinitions() {
        let xs = Self.points.filter { abs($0) < 40 }
        let checks: [(Activation, (Double) -> Double)] = [
            (.geluNew, { 0.5 * $0 * (1 + Foundation.tanh(0.7978845608028654 * ($0 + 0.044715 * $0 * $0 * $0))) }),
            (.relu, { max($0, 0) }),
            (.silu, { $0 / (1 + Foundation.exp(-$0)) }),
            (.tanh, { Foundation.tanh($0) }),
            (.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }),
        ]
        for (act, ref) in checks {
            for (x, y) in zip(xs, apply(act.apply, xs)) {
                let want = ref(Double(x))
                #expect(abs(Double(y) - want) <= 2e-6 * max(1, abs(want)), "\(act)(\(x)) = \(y), want \(want)")
            }
        }
    }

    @Test func softmaxAndLayerNormMatchDoublePrecision() {
        var rng = Xoshiro256(seed: 3)
        for n in [1, 7, 8, 13, 128] {
            var x = (0..<n).map { _ in rng.nextNormal() * 4 }
            let bias = (0..<n).map { $0 % 3 == 2 ? -Float.greatestFiniteMagnitude : 0 }
            let ref: [Double] = {
                let v = zip(x, bias).map { Double($0) + Double($1) }
                let m = v.max()!
                let e = v.map { Foundation.exp($0 - m) }
                let s = e.reduce(0, +)
                return e.map { $0 / s }
            }()
            x.withUnsafeMutableBufferPointer { p in bias.withUnsafeBufferPointer { softmaxRow(p.baseAddress!, n, bias: $0.baseAddress!) } }
            for i in 0..<n { #expect(abs(Double(x[i]) - ref[i]) < 1e-6) }

            let y = (0..<n).map { _ in rng.nextNormal() * 3 + 1 }
            let g = (0..<n).map { _ in rng.nextNormal() }, b = (0..<n).map { _ in rng.nextNormal() }
            var out = [Float](repeating: 0, count: n)
            layerNormForward(&out, y, gamma: g, beta: b, rows: 1, columns: n, eps: 1e-12)
            let mean = y.map(Double.init).reduce(0, +) / Double(n)
            let v = y.map { (Double($0) - mean) * (Double($0) - mean) }.reduce(0, +) / Double(n)
            for i in 0..<n {
                let want = (Double(y[i]) - mean) / (v + 1e-12).squareRoot() * Double(g[i]) + Double(b[i])
                #expect(n == 1 || abs(Double(out[i]) - want) < 1e-4, "n=\(n) i=\(i): \(out[i]) vs \(want)")
            }
        }
    }

    /// Dynamic chunks: every index exactly once, worker numbers within the thread limit
    /// (callers index per-thread scratch with them), whatever the split.
    @Test func forChunksCoversEveryIndexOnceWithinTheWorkerLimit() {
        for (count, minChunk, maxThreads) in [(1000, 1, Int.max), (1000, 64, 2), (7, 1, 1), (3, 1, Int.max), (0, 1, Int.max), (4096, 16, 3)] {
            let seen = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
            seen.initialize(repeating: 0, count: max(count, 1))
            defer { seen.deallocate() }
            let limit = min(Parallel.threads, maxThreads)
            let badWorker = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
            badWorker.initialize(to: 0)
            defer { badWorker.deallocate() }
            Parallel.forChunks(count, minChunk: minChunk, maxThreads: maxThreads) { worker, range in
                if worker < 0 || worker >= limit { badWorker.pointee = 1 }
                for i in range { seen[i] += 1 }  // ranges are disjoint, so no two threads share i
            }
            #expect(badWorker.pointee == 0, "count \(count): a worker number reached \(limit) or more")
            #expect((0..<count).allSatisfy { seen[$0] == 1 }, "count \(count): some index was not visited exactly once")
        }
    }

    /// The deferred-normalisation form attention uses (exp now, divide later) is the softmax.
    @Test func expShiftedRowIsTheUnnormalisedSoftmax() {
        var rng = Xoshiro256(seed: 3)
        for n in [1, 7, 8, 129] {
            var x = (0..<n).map { _ in 30 * rng.nextNormal() }
            var p = x
            softmaxRow(&p, n)
            let sum = expShiftedRow(&x, n)
            for i in 0..<n { #expect(abs(x[i] / sum - p[i]) < 1e-6, "n=\(n) i=\(i)") }
            #expect(abs(p.reduce(0, +) - 1) < 1e-5)
        }
    }

    /// One-row and one-column products (sent to sgemv) against a plain loop, for every
    /// transpose combination, with padded leading dimensions and beta != 0.
    @Test func vectorShapedProductsMatchAPlainLoop() {
        var rng = Xoshiro256(seed: 5)
        for (m, n, k) in [(1, 37, 19), (23, 1, 17), (1, 1, 9), (1, 5, 0)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 4
                    let a = (0..<((transA ? k : m) * lda)).map { _ in rng.nextNormal() }
                    let b = (0..<((transB ? n : k) * ldb)).map { _ in rng.nextNormal() }
                    var c = (0..<(m * ldc)).map { _ in rng.nextNormal() }
                    var want = c
                    for i in 0..<m {
                        for j in 0..<n {
                            var dot: Float = 0
                            for t in 0..<k {
                                dot += (transA ? a[t * lda + i] : a[i * lda + t]) * (transB ? b[j * ldb + t] : b[t * ldb + j])
                            }
                            want[i * ldc + j] = 0.5 * dot + 2 * want[i * ldc + j]
                        }
                    }
                    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                          b: b, ldb: ldb, beta: 2, c: &c, ldc: ldc)
                    let worst = (0..<m).flatMap { i in (0..<n).map { abs(c[i * ldc + $0] - want[i * ldc + $0]) } }.max()!
                    #expect(worst < 1e-4, "m \(m) n \(n) k \(k) transA \(transA) transB \(transB): off by \(worst)")
                    // Padding between rows of C is left alone.
                    #expect((0..<m).allSatisfy { i in (n..<ldc).allSatisfy { c[i * ldc + $0] == want[i * ldc + $0] } })
                }
            }
        }
    }

    @Test func parallelGemmEqualsSingleThreaded() {
        var rng = Xoshiro256(seed: 9)
        for (m, n, k) in [(300, 70, 90), (20, 513, 64), (1, 1, 1)] {
            let a = (0..<(m * k)).map { _ in rng.nextNormal() }
            let b = (0..<(n * k)).map { _ in rng.nextNormal() }
            var c1 = [Float](repeating: 0, count: m * n), c2 = c1
            sgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 0, c: &c1, ldc: n)
            // With a row initialiser (a Linear's bias), each chunk writes its own block first.
            let bias = (0..<n).map { Float($0) - 7.5 }
            var c3 = [Float](repeating: .nan, count: m * n)
            Parallel.withThreads(3) {
                parallelSgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 0, c: &c2, ldc: n)
                parallelSgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 0, c: &c3, ldc: n, rowInit: bias)
            }
            let worst = zip(c1, c2).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-4, "split product differs by \(worst)")
            let worstBiased = (0..<(m * n)).map { abs(c3[$0] - (c1[$0] + bias[$0 % n])) }.max()!
            #expect(worstBiased < 1e-4, "product plus row initialiser differs by \(worstBiased)")
            // Spot-check one entry against a plain dot product.
            var dot: Float = 0
            for t in 0..<k { dot += a[t] * b[(n - 1) * k + t] }
            #expect(abs(c1[n - 1] - dot) < 1e-3)
        }
    }

    /// Every activation's backward against a central difference of its forward (in double).
    @Test func activationDerivativesMatchFiniteDifferences() {
        let xs = stride(from: -6.0, through: 6.0, by: 0.173).map { Float($0) }
        for act in Activation.allCases {
            var dx = [Float](repeating: 0, count: xs.count)
            let ones = [Float](repeating: 1, count: xs.count)
            dx.withUnsafeMutableBufferPointer { d in act.backward(dx: d.baseAddress!, dy: ones, pre: xs, count: xs.count) }
            let h: Float = 1e-2
            let up = apply(act.apply, xs.map { $0 + h }), down = apply(act.apply, xs.map { $0 - h })
            for i in xs.indices where act != .relu || abs(xs[i]) > 2 * h {
                let numeric = (up[i] - down[i]) / (2 * h)
                #expect(abs(numeric - dx[i]) < 2e-3, "\(act)'(\(xs[i])) = \(dx[i]), numeric \(numeric)")
            }
        }
    }
}

extension KernelTests {
    /// A mask takes exactly one draw from the generator (checkpoints and resumes rest on the
    /// generator's state alone), depends only on that key (not on the thread count), and two
    /// masks in a row differ.
    @Test func dropoutMaskIsAFunctionOfOneDraw() {
        let n = 100_001
        var reference = Xoshiro256(seed: 21)
        _ = reference.next()
        func fill(threads: Int) -> ([Float], [UInt64]) {
            let ctx = DropoutContext(seed: 21)
            var mask = [Float](repeating: -1, count: n)
            Parallel.withThreads(threads) { mask.withUnsafeMutableBufferPointer { ctx.fillMask($0.baseAddress!, count: n, p: 0.25) } }
            return (mask, ctx.rng.state)
        }
        let (one, state) = fill(threads: 1), (three, _) = fill(threads: 3)
        #expect(state == reference.state, "a mask must advance the generator by one draw")
        #expect(one == three, "the mask depends on the thread count")
        #expect(one.allSatisfy { $0 == 0 || $0 == Float(1) / 0.75 })
        let ctx = DropoutContext(seed: 21)
        var a = [Float](repeating: 0, count: 64), b = a
        a.withUnsafeMutableBufferPointer { ctx.fillMask($0.baseAddress!, count: 64, p: 0.5) }
        b.withUnsafeMutableBufferPointer { ctx.fillMask($0.baseAddress!, count: 64, p: 0.5) }
        #expect(a != b)
    }
}
