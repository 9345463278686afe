import ArgumentParser
import Electra
import ElectraKernels
import ElectraTraining
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forward throughput and latency with random weights.",
        discussion: """
        Shapes are MODEL:BATCHxLENGTH with MODEL one of \(ElectraConfig.presetNames.joined(separator: ", ")). \
        Default: small:32x128, base:8x128, small:1x16 (forward); small:32x128 (--train).

        scripts/bench/compare_forward.py and scripts/bench/pytorch_train.py run the same \
        shapes through PyTorch.
        """)

    @Option(parsing: .upToNextOption, help: "Shapes to measure (default depends on the mode).")
    var shapes: [String] = []

    @Option(help: "Minimum timed runs per shape.")
    var iterations = 5

    @Option(help: "Minimum timed seconds per shape.")
    var minSeconds = 3.0

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Encoder weight layout for forwards: 'inference' also keeps them as [in, out] (faster for few tokens, more memory; see InferenceLayout.swift), 'hf' uses only the checkpoint's [out, in], 'both' measures the two in one process, forwards alternating.")
    var weightLayout: String?

    @Flag(help: "Print one JSON object per shape instead of a table.")
    var json = false

    @Option(help: "fp32, int8 (dynamic quantization of the encoder's products), bf16, both (fp32 and int8), or a comma list such as fp32,bf16 (alternating).")
    var dtype = "fp32"

    @Flag(help: "Measure training steps instead: ElectraForPreTraining with replaced-token labels, dropout on, clip 1.0, AdamW (default shape small:32x128).")
    var train = false

    @Flag(help: "Measure one full RTD pretraining step instead: generator at the masked positions + sampling + discriminator + backward + clip + AdamWeightDecay (tokens/s and peak memory).")
    var pretrain = false

    @Option(help: "With --pretrain: the model preset (\(PretrainingPreset.names.joined(separator: ", ")); default small).")
    var preset: String?

    @Option(help: "With --pretrain: examples per step (length 128; default 32).")
    var batchSize: Int?

    @Option(parsing: .upToNextOption, help: "Measure MPI allreduce instead (run under mpirun): sums of these many floats, e.g. 1024 1048576.")
    var allreduce: [Int] = []

    @Flag(help: "Measure MPI allreduce (run under mpirun) at 1K to 64M floats, by 4x.")
    var allreduceDefaults = false

    @Flag(help: "Under mpirun (--train, --pretrain): sum the gradients only after the whole backward, not layer by layer during it.")
    var noOverlap = false

    /// Which elementwise kernels run (`ELECTRA_MAX_ISA=sse|avx2` caps them).
    var vectorKernels: String { VectorISA.kernelName }

    func run() throws {
        try runReportingErrors {
            try ThreadOption.apply(threads)
            guard iterations >= 1 else { throw ElectraError("--iterations must be at least 1, got \(iterations)") }
            guard minSeconds >= 0 && minSeconds.isFinite else { throw ElectraError("--min-seconds must be a number of seconds >= 0, got \(minSeconds)") }
            if train && pretrain { throw ElectraError("pass --train or --pretrain, not both") }
            let mode = !allreduce.isEmpty || allreduceDefaults ? "an allreduce measurement" : pretrain ? "--pretrain" : train ? "--train" : "forward passes"
            try refuseOptions([
                ("--preset", preset != nil && !pretrain), ("--batch-size", batchSize != nil && !pretrain),
                ("--weight-layout", weightLayout != nil && (train || pretrain)), ("--shapes", !shapes.isEmpty && pretrain),
            ], on: mode)
            if !allreduce.isEmpty || allreduceDefaults { return try runAllreduce() }
            if pretrain || train {
                // Under mpirun the steps are data-parallel: each rank its batch, gradients summed.
                let group = try DistributedJob.join(distributed: false)
                return pretrain ? try runPretraining(group) : try runTraining(group)
            }
            let weightLayout = self.weightLayout ?? "inference"
            guard ["inference", "hf", "both"].contains(weightLayout) else {
                throw ElectraError("unknown --weight-layout '\(weightLayout)'; expected inference, hf or both")
            }
            let layouts = weightLayout == "both" ? ["hf", "inference"] : [weightLayout]
            let dtypes: [InferenceDType] = dtype == "both" ? [.fp32, try DTypeOption.parseRequested("int8")]
                : try dtype.split(separator: ",").map { try DTypeOption.parseRequested(String($0), alsoAccepted: "both, or a comma list") }
            // Every combination, one model each (same seed, same weights), forwards alternating.
            let variants = layouts.flatMap { l in dtypes.map { (layout: l, dtype: $0) } }
            let labelWidth = variants.count > 1 ? 34 : 17
            // A request that runs as another format here is shown as both (bf16->fp32).
            func shown(_ d: InferenceDType) -> String { d.resolved == d ? d.rawValue : "\(d.rawValue)->\(d.resolved.rawValue)" }
            let peak = measureGemmPeak()
            if !json {
                print("CPU: \(CPUFeatures.current); products: \(GemmBackend.summary); elementwise kernels: \(vectorKernels)")
                print("threads \(Parallel.threads), BLAS core \(blasCoreName), elementwise kernels \(vectorKernels), int8 kernel \(Int8Kernel.current.rawValue), bf16: \(BF16Kernel.summary), weight layout \(weightLayout), sgemm 1024^3 peak \(String(format: "%.1f", peak)) GFLOP/s")
                print("shape".padding(toLength: labelWidth, withPad: " ", startingAt: 0) + "  tokens/s     ms/batch   GFLOP/s   % of sgemm peak")
            }
            for spec in shapes.isEmpty ? ["small:32x128", "base:8x128", "small:1x16"] : shapes {
                let (config, b, l, ids) = try setup(spec)
                let inputs = ElectraInputs(inputIds: IntTensor(shape: [b, l], values: ids))
                let models = try variants.map { v in
                    let m = try ElectraModel(config: config, seed: 1)
                    m.setInferenceWeightLayout(v.layout == "inference")
                    m.setInferenceDType(v.dtype.resolved)  // what a user asking for it gets (bf16 may run in fp32)
                    return m
                }
                let (medians, runs) = try medianSeconds(warmup: 2, models.map { m in { _ = try m(inputs) } })
                for ((layout, dtype), median) in zip(variants, medians) {
                    let tps = Double(b * l) / median
                    let gflops = tps * config.forwardFlopsPerToken(length: l) / 1e9
                    if json {
                        print(#"{"shape": "\#(spec)", "tokens_per_s": \#(tps), "ms_per_batch": \#(median * 1000), "gflops": \#(gflops), "sgemm_peak_gflops": \#(peak), "threads": \#(Parallel.threads), "elementwise": "\#(vectorKernels)", "weight_layout": "\#(layout)", "dtype": "\#(dtype.rawValue)", "runs_as": "\#(dtype.resolved.rawValue)", "int8_kernel": "\#(Int8Kernel.current.rawValue)", "bf16_kernel": "\#(BF16Kernel.current.rawValue)", "bf16_route": "\#(BF16Kernel.route.rawValue)", "runs": \#(runs)}"#)
                    } else {
                        let name = variants.count > 1 ? "\(spec) \(layout) \(shown(dtype))" : spec
                        print(name.padding(toLength: labelWidth, withPad: " ", startingAt: 0),
                              String(format: "%10.0f   %9.2f   %7.1f   %5.1f%%", tps, median * 1000, gflops, 100 * gflops / peak))
                    }
                }
                if variants.count > 1, !json {
                    for (v, m) in zip(variants, medians).dropFirst() {
                        print(String(format: "  %@ %@: %.3fx the speed of %@ %@", v.layout, shown(v.dtype), medians[0] / m,
                                     variants[0].layout, shown(variants[0].dtype)))
                    }
                }
            }
        }
    }

    /// MPI allreduce time against message size (the data-parallel scaling model's input):
    /// the median of timed sums per size, and the bus bandwidth 2(N-1)/N x bytes / time
    /// (what a ring allreduce moves through each link).
    func runAllreduce() throws {
        let sizes = allreduce.isEmpty ? (0..<10).map { 1024 << (2 * $0) }.filter { $0 <= 1 << 26 } : allreduce
        guard sizes.allSatisfy({ $0 > 0 }) else { throw ElectraError("--allreduce sizes must be positive") }
        let group = try DistributedJob.join(distributed: true)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: sizes.max()!)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: sizes.max()!)
        if group.isRoot && !json { print("allreduce over \(group.size) ranks (\(ProcessInfo.processInfo.hostName)): floats, MB, median ms, bus GB/s") }
        for n in sizes {
            var times: [Double] = []
            group.allreduceSum(buffer, count: n)  // warmup
            let started = Date()
            while times.count < max(iterations, 5) || (Date().timeIntervalSince(started) < min(minSeconds, 2) && times.count < 1000) {
                group.barrier()
                let t0 = Date()
                group.allreduceSum(buffer, count: n)
                times.append(Date().timeIntervalSince(t0))
            }
            // Every rank's median; the slowest one is the collective's time.
            let seconds = slowestRank(median: times.sorted()[times.count / 2], group)
            let bytes = Double(n * 4), bus = 2 * Double(group.size - 1) / Double(group.size) * bytes / seconds / 1e9
            if group.isRoot {
                if json {
                    print(#"{"mode": "allreduce", "ranks": \#(group.size), "floats": \#(n), "ms": \#(seconds * 1000), "bus_gb_per_s": \#(bus), "runs": \#(times.count)}"#)
                } else {
                    print(String(format: "%10d  %8.3f  %9.3f  %7.2f", n, bytes / 1e6, seconds * 1000, bus))
                }
            }
        }
    }

    /// Training-step throughput, the counterpart of scripts/bench/pytorch_train.py.
    func runTraining(_ group: any ProcessGroup) throws {
        let dtype = try TrainingDTypeOption.parse(self.dtype)
        if !json { print("threads \(Parallel.threads), training steps (forward + backward + clip + AdamW), \(dtype) products\(dtype == .bf16 ? " (\(BF16Kernel.summary))" : "")") }
        for spec in shapes.isEmpty ? ["small:32x128"] : shapes {
            let (config, b, l, ids) = try setup(spec)
            let model = try ElectraForPreTraining(config: config, seed: 1)
            model.setInferenceDType(dtype)
            var rng = Xoshiro256(seed: 11)
            var inputs = ElectraInputs(inputIds: IntTensor(shape: [b, l], values: ids))
            inputs.attentionMask = IntTensor(shape: [b, l], values: Array(repeating: 1, count: b * l))
            inputs.labels = IntTensor(shape: [b, l], values: (0..<(b * l)).map { _ in Int(rng.next() % 2) })
            let opt = AdamW(parameters: model.parameters.uniqueParameters.map { ($0.name, $0.parameter) }, weightDecay: 0.01)
            let dropout = DropoutContext(seed: 3)
            let sync = DataParallelStep(group: group, models: [model], all: model.parameters.uniqueParameters.map(\.parameter), overlap: !noOverlap)
            defer { sync.stop() }
            func step() throws {
                model.parameters.zeroGradients()
                sync.begin()
                _ = try model.forwardBackward(inputs, dropout: dropout)
                sync.end()
                _ = Gradients.clipGlobalNorm(model.parameters, maxNorm: 1)
                opt.step(learningRate: 1e-4)
            }
            let (median, runs) = try medianSeconds(sync, step)
            let tps = Double(b * l * group.size) / median
            if json {
                print(#"{"shape": "\#(spec)", "mode": "train", "dtype": "\#(dtype.rawValue)", "tokens_per_s": \#(tps), "ms_per_step": \#(median * 1000), "threads": \#(Parallel.threads), "ranks": \#(group.size), "overlap": \#(!noOverlap), "runs": \#(runs)}"#)
            } else {
                print(spec.padding(toLength: 17, withPad: " ", startingAt: 0), String(format: "%10.0f tokens/s   %9.1f ms/step", tps, median * 1000))
            }
        }
    }

    /// One RTD step, the counterpart of scripts/bench/pytorch_pretrain.py: random full-length
    /// two-segment examples, the preset's generator, mask 15%, loss 1 x MLM + 50 x BCE.
    func runPretraining(_ group: any ProcessGroup) throws {
        let length = 128
        let batchSize = self.batchSize ?? 32, preset = self.preset ?? "small"
        guard (1...1 << 16).contains(batchSize) else { throw ElectraError("--batch-size must be in 1...65536, got \(batchSize)") }
        let p = try PretrainingPreset.named(preset)
        let gen = try PretrainingPreset.generatorConfig(discriminator: p.discriminator, size: p.generatorSize)
        let (disc, g) = try PretrainingModels.build(discriminator: p.discriminator, generator: gen, seed: 1)
        let dtype = try TrainingDTypeOption.parse(self.dtype)
        disc.setInferenceDType(dtype)
        g.setInferenceDType(dtype)
        var rng = Xoshiro256(seed: 5)
        let examples = (0..<batchSize).map { _ -> PackedExample in
            var ids: [Int32] = [101]
            for k in 1..<(length - 1) { ids.append(k == length / 2 ? 102 : Int32(1000 + rng.next() % 29000)) }
            ids.append(102)
            return PackedExample(ids: ids, firstSegmentEnd: length / 2 + 1)
        }
        let data = PretrainingData(examples: examples, maxSeqLength: length, vocabSize: p.discriminator.vocabSize)
        let special = SpecialIds(cls: 101, sep: 102, mask: 103, pad: 0, vocabSize: p.discriminator.vocabSize)
        let task = ReplacedTokenDetectionTask(generator: g, discriminator: disc, data: data, masking: MaskingOptions(), special: special, seed: 3)
        var seen = Set<ObjectIdentifier>()
        var named: [(name: String, parameter: Parameter)] = []
        for m in task.models {
            for (n, q) in m.model.parameters.uniqueParameters where seen.insert(ObjectIdentifier(q)).inserted { named.append(("\(m.folder)/\(n)", q)) }
        }
        let table = ParameterTable()
        for (n, q) in named { table.register(n, q) }
        let opt = ElectraAdamWeightDecay(parameters: named, weightDecay: 0.01)
        let dropout = DropoutContext(seed: 3)
        let indices = Array(0..<batchSize)
        let sync = DataParallelStep(group: group, models: task.models.map(\.model), all: named.map(\.parameter), overlap: !noOverlap)
        defer { sync.stop() }
        func step() throws {
            table.zeroGradients()
            sync.begin()
            _ = try task.trainingStep(indices[...], dropout: dropout)
            sync.end()
            _ = Gradients.clipGlobalNorm(table, maxNorm: 1)
            opt.step(learningRate: 5e-4)
        }
        let (median, runs) = try medianSeconds(sync, step)
        let tps = Double(batchSize * length * group.size) / median
        let peak = Self.peakMemoryMB()
        let spec = "\(preset):\(batchSize)x\(length)"
        if json {
            print(#"{"shape": "\#(spec)", "mode": "pretrain", "dtype": "\#(dtype.rawValue)", "tokens_per_s": \#(tps), "ms_per_step": \#(median * 1000), "peak_rss_mb": \#(peak), "generator_hidden": \#(gen.hiddenSize), "threads": \#(Parallel.threads), "ranks": \#(group.size), "overlap": \#(!noOverlap), "runs": \#(runs)}"#)
        } else {
            print("threads \(Parallel.threads), RTD step: generator (hidden \(gen.hiddenSize)) at masked positions + sampling + discriminator + backward + clip + AdamWeightDecay; products \(GemmBackend.current), \(dtype)\(dtype == .bf16 ? " (\(BF16Kernel.summary))" : "")")
            print(spec.padding(toLength: 17, withPad: " ", startingAt: 0), String(format: "%10.0f tokens/s   %9.1f ms/step   peak RSS %.0f MB", tps, median * 1000, peak))
        }
    }

    /// The process's peak resident memory (VmHWM), in MB; 0 where /proc is missing.
    static func peakMemoryMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }

    /// The preset config (positions widened to fit L), batch, length and seeded random ids.
    func setup(_ spec: String) throws -> (ElectraConfig, Int, Int, [Int]) {
        let (name, b, l) = try parse(spec)
        let config = ElectraConfig.preset(name)!
        guard l <= config.maxPositionEmbeddings else {
            throw ElectraError("bad shape '\(spec)': length \(l) exceeds \(name)'s max_position_embeddings (\(config.maxPositionEmbeddings))")
        }
        var rng = Xoshiro256(seed: 7)
        return (config, b, l, (0..<(b * l)).map { _ in Int(rng.next() % UInt64(config.vocabSize)) })
    }

    /// Median wall time of each body after `warmup` untimed runs each, over at least
    /// `iterations` runs and `minSeconds` (at most 1,000 runs). Several bodies take turns, one
    /// run each, so that they share the machine's moods (this VM's speed drifts by 10-20%).
    func medianSeconds(warmup: Int, _ bodies: [() throws -> Void]) throws -> (medians: [Double], runs: Int) {
        for body in bodies { for _ in 0..<warmup { try body() } }
        var times = [[Double]](repeating: [], count: bodies.count)
        let start = Date()
        while (times[0].count < iterations || Date().timeIntervalSince(start) < minSeconds * Double(bodies.count)) && times[0].count < 1000 {
            for (i, body) in bodies.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                times[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
        }
        return (times.map { $0.sorted()[$0.count / 2] }, times[0].count)
    }

    func parse(_ spec: String) throws -> (String, Int, Int) {
        let parts = spec.split(separator: ":")
        let dims = parts.count == 2 ? parts[1].split(separator: "x") : []
        guard parts.count == 2, ElectraConfig.preset(String(parts[0])) != nil, dims.count == 2,
              let b = Int(dims[0]), let l = Int(dims[1]), (1...1 << 16).contains(b), (1...1 << 20).contains(l) else {
            throw ElectraError("bad shape '\(spec)': expected MODEL:BATCHxLENGTH with MODEL one of \(ElectraConfig.presetNames.joined(separator: ", ")), e.g. small:32x128")
        }
        return (String(parts[0]), b, l)
    }

    /// Best GFLOP/s of a 1024^3 sgemm split across our threads, over at least 10 runs and
    /// 0.5 s (fewer runs measured the clock's ramp, not the kernels: shapes then showed above
    /// 100% of "peak"): the ceiling we compare to.
    func measureGemmPeak() -> Double {
        let n = 1024
        let a = Tensor(zeros: [n, n]), b = Tensor(zeros: [n, n]), c = Tensor(zeros: [n, n])
        a.fill(0.5); b.fill(0.25)
        var best = 0.0, runs = 0
        let start = DispatchTime.now().uptimeNanoseconds
        while runs < 10 || DispatchTime.now().uptimeNanoseconds - start < 500_000_000 {
            runs += 1
            let t0 = DispatchTime.now().uptimeNanoseconds
            parallelSgemm(transA: false, transB: true, m: n, n: n, k: n, alpha: 1, a: a.pointer, lda: n,
                          b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, 2 * Double(n * n * n) / s / 1e9)
        }
        return best
    }
}

extension Bench {
    /// The step's time as one rank of an MPI job: every rank times the same fixed number of
    /// steps (collectives must match), and the slowest rank's median is the step's time. One
    /// process times as the other modes do.
    func medianSeconds(_ sync: DataParallelStep, _ step: @escaping () throws -> Void) throws -> (Double, Int) {
        let group = sync.group
        guard group.size > 1 else {
            let (m, runs) = try medianSeconds(warmup: 1, [step])
            return (m[0], runs)
        }
        try step()
        var times: [Double] = []
        for _ in 0..<max(iterations, 3) {
            group.barrier()
            let t0 = Date()
            try step()
            times.append(Date().timeIntervalSince(t0))
        }
        return (slowestRank(median: times.sorted()[times.count / 2], group), times.count)
    }

    /// The largest of every rank's `median`.
    func slowestRank(median: Double, _ group: any ProcessGroup) -> Double {
        var all = [Double](repeating: 0, count: group.size)
        all[group.rank] = median
        group.allreduceSum(&all)
        return all.max()!
    }
}
