import Electra
import Foundation

/// The training loop every objective runs on: parameter groups with layer-wise LR decay,
/// the optimizer and schedule, gradient accumulation, clipping, the dropout generator,
/// periodic validation, the progress line, the JSONL log, the SVG plot, atomic checkpoints
/// of every trained model with optimizer and trainer state, checkpoint rotation, the best
/// checkpoint, early stopping, exact resume and the NaN/inf stop. The task supplies its
/// micro-batch step and its evaluation.
public final class Trainer {
    public let task: any TrainingTask
    public let options: TrainerOptions
    public let output: URL
    public var quiet = false

    /// Every trained model's parameters, each object once (a shared one under its first
    /// name: "folder/name", or the bare HF name for a model saved at the top).
    public let parameters: ParameterTable
    public let optimizer: AdamOptimizer
    public private(set) var schedule: LRSchedule
    public private(set) var totalSteps: Int
    public let stepsPerEpoch: Int
    let dropout: DropoutContext
    private let trainable: [Parameter]
    /// The data-parallel job this process is part of (one process: `SingleProcess`).
    public let group: any ProcessGroup
    /// Sums gradients over the ranks (nil for one process).
    let reducer: GradientReducer?

    /// `group`: the data-parallel job (DistributedTraining.md). Rank r trains on its share of
    /// every step's examples; rank 0 alone evaluates and writes the log, plots and checkpoints.
    public init(task: any TrainingTask, options o: TrainerOptions, output: URL, group: any ProcessGroup = SingleProcess()) throws {
        try o.validate()
        guard task.exampleCount > 0 else { throw ElectraError("the training set is empty") }
        guard let first = task.models.first else { throw ElectraError("the task trains no model") }
        self.task = task
        options = o
        self.output = output
        self.group = group
        if !group.isRoot { quiet = true }
        let table = ParameterTable()
        var seen = Set<ObjectIdentifier>()
        for m in task.models {
            for (name, p) in m.model.parameters.uniqueParameters where seen.insert(ObjectIdentifier(p)).inserted {
                table.register(m.folder.isEmpty ? name : "\(m.folder)/\(name)", p)
            }
        }
        parameters = table
        trainable = table.uniqueParameters.map(\.parameter)
        for m in task.models { m.model.setInferenceDType(o.computeDType) }
        let perStep = o.batchSize * o.gradientAccumulation * group.size
        stepsPerEpoch = (task.exampleCount + perStep - 1) / perStep
        totalSteps = o.maxSteps ?? o.epochs * stepsPerEpoch
        let named = table.uniqueParameters.map { (name: $0.name, parameter: $0.parameter) }
        let lw = LayerwiseLRDecay(decay: o.layerwiseDecay, numLayers: first.model.config.numHiddenLayers)
        let multiplier: ((String) -> Float)? = o.layerwiseDecay == 1 ? nil : { lw.multiplier(for: $0) }
        switch o.optimizer {
        case .adamw:
            optimizer = AdamW(parameters: named, beta2: o.adamBeta2, epsilon: o.adamEpsilon, weightDecay: o.weightDecay, learningRateMultiplier: multiplier)
        case .electra:
            optimizer = ElectraAdamWeightDecay(parameters: named, beta2: o.adamBeta2, epsilon: o.adamEpsilon, weightDecay: o.weightDecay, learningRateMultiplier: multiplier)
        }
        schedule = Self.schedule(o, totalSteps: totalSteps)
        dropout = DropoutContext(seed: o.seed &+ 1)
        reducer = group.size > 1 ? GradientReducer.hooked(to: task.models.map(\.model), all: trainable, group: group) : nil
        task.didSizeRun(totalSteps: totalSteps)
        parameters.zeroGradients()
    }

    static func schedule(_ o: TrainerOptions, totalSteps: Int) -> LRSchedule {
        // Not cut to the run's length: as in HF, warmup longer than the run never reaches the peak.
        let warmup = o.warmupSteps ?? Int((Double(totalSteps) * o.warmupFraction).rounded())
        switch o.schedule {
        case .electra: return .electra(peak: o.learningRate, warmupSteps: warmup, totalSteps: totalSteps)
        case .linear: return .linear(peak: o.learningRate, warmupSteps: warmup, totalSteps: totalSteps)
        case .constant: return .constant(peak: o.learningRate)
        case .constantWithWarmup: return .constantWithWarmup(peak: o.learningRate, warmupSteps: warmup)
        }
    }

    /// Fixes the run's length (a `maxTime` run, once its speed is known).
    func setTotalSteps(_ n: Int) {
        totalSteps = max(1, n)
        schedule = Self.schedule(options, totalSteps: totalSteps)
        task.didSizeRun(totalSteps: totalSteps)
    }

    /// The run length that spends `seconds` more from step `step`, at `perStep` seconds a step
    /// measured over steps `measured`: the task's relative step costs (cheap early steps) are
    /// counted, and depend on the length itself, so the length is found by a few iterations.
    func stepsFitting(seconds: Double, from step: Int, perStep: Double, measured: Range<Int>) -> Int {
        let measuredCost = measured.reduce(0.0) { $0 + task.relativeStepCost(atStep: $1) } / Double(max(measured.count, 1))
        let perUnit = perStep / max(measuredCost, 1e-3)
        var n = step + Int(seconds / perUnit)
        for _ in 0..<4 {
            task.didSizeRun(totalSteps: n)
            let saved = (step..<n).reduce(0.0) { $0 + 1 - task.relativeStepCost(atStep: $1) }
            n = step + Int(seconds / perUnit + saved)
        }
        return n
    }

    /// Whether the schedule's length still waits for the first steps' speed.
    var sizingFromTime: Bool { options.maxTime != nil && options.maxSteps == nil }

    /// The settings a resumed run must share with the run it continues.
    var runFingerprint: [String: String] {
        let o = options
        var f = task.runFingerprint
        f["learning_rate"] = "\(o.learningRate)"
        f["layerwise_lr_decay"] = "\(o.layerwiseDecay)"
        f["warmup"] = o.warmupSteps.map { "\($0) steps" } ?? "\(o.warmupFraction)"
        f["weight_decay"] = "\(o.weightDecay)"
        f["batch_size"] = "\(o.batchSize)"
        // Micro-batches per step over the whole job: N ranks x A equals 1 process x N*A.
        f["gradient_accumulation_steps"] = "\(o.gradientAccumulation * group.size)"
        f["optimizer"] = o.optimizer.rawValue
        f["adam_epsilon"] = "\(o.adamEpsilon)"
        if o.adamBeta2 != 0.999 { f["adam_beta2"] = "\(o.adamBeta2)" }  // absent from earlier runs' states
        f["max_grad_norm"] = "\(o.maxGradNorm)"
        f["lr_schedule"] = o.schedule.rawValue
        if o.computeDType != .fp32 { f["dtype"] = o.computeDType.rawValue }  // absent from fp32 runs' states
        f["seed"] = "\(o.seed)"
        f["shuffle"] = "\(o.shuffle)"
        f["total_steps"] = "\(totalSteps)"
        // Which checkpoint ends as the output, and when the run stops early.
        f["metric_for_best"] = o.metricForBest.map { "\($0) (\(o.higherIsBetter($0) ? "higher" : "lower") is better)" } ?? "none"
        f["early_stopping_patience"] = o.earlyStoppingPatience.map { "\($0)" } ?? "none"
        if f["dropout"] == nil, let config = task.models.first?.model.config {
            f["dropout"] = "\(config.hiddenDropoutProb)"
            f["attention_dropout"] = "\(config.attentionProbsDropoutProb)"
        }
        return f
    }

    /// What the absence of a key that is recorded only when it is not the default means
    /// (states of earlier runs lack it too). A key absent from one side and not named here
    /// (one that earlier versions did not record) is not compared.
    static let fingerprintDefaults: [String: String] = [
        "adam_beta2": "0.999", "dtype": InferenceDType.fp32.rawValue,
        "seq_length_warmup": "0", "generator_warmup": "0", "discriminator_ramp": "0", "temperature_warmup": "0",
        "discriminator_from_generator": "false", "start_temperature": "none",
    ]

    /// The first setting in which a saved run and this one differ: (key, saved, now). The
    /// dtype comes first (fp32 runs record none: their states predate it), then by name.
    static func firstDifference(saved: [String: String], now: [String: String]) -> (key: String, saved: String, now: String)? {
        let keys = Set(saved.keys).union(now.keys).sorted { ($0 == "dtype" ? 0 : 1, $0) < ($1 == "dtype" ? 0 : 1, $1) }
        for key in keys where key != "total_steps_from_time" {
            guard let a = saved[key] ?? fingerprintDefaults[key], let b = now[key] ?? fingerprintDefaults[key] else { continue }
            if a != b { return (key, a, b) }
        }
        return nil
    }

    /// The order of examples in `epoch`: a seeded shuffle, or file order.
    func permutation(epoch: Int) -> [Int] {
        var p = Array(0..<task.exampleCount)
        guard options.shuffle else { return p }
        var rng = Xoshiro256(seed: options.seed &+ 1000 &+ UInt64(epoch))
        for i in stride(from: p.count - 1, to: 0, by: -1) { p.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return p
    }

    public struct Summary: Sendable {
        public var steps: Int
        public var finalLoss: Double
        /// The last validation's metrics.
        public var metrics: [String: Double]
        public var seconds: Double
        /// The checkpoint with the best `metricForBest`, whose weights the output holds.
        public var bestCheckpoint: String?
        public var bestMetric: Double?
        /// Early stopping ended the run before `totalSteps`.
        public var stoppedEarly: Bool
    }

    /// Runs to `totalSteps` (or an early stop), continuing from the latest checkpoint in
    /// `output` when `resume` (an error when there is none, or when it was made with other
    /// settings or data).
    @discardableResult
    public func run(resume: Bool) throws -> Summary {
        var state = TrainerState()
        state.optimizerKind = optimizer.kind
        state.run = runFingerprint
        if resume {
            guard let ckpt = TrainerCheckpoints.latest(in: output) else {
                throw ElectraError("--resume: \(output.path) holds no checkpoint-N folder to continue from")
            }
            let savedRun = try TrainerCheckpoints.readState(ckpt).run
            if sizingFromTime, savedRun["total_steps_from_time"] != nil, let n = savedRun["total_steps"].flatMap(Int.init) {
                setTotalSteps(n)
                state.run = runFingerprint
                state.run["total_steps_from_time"] = "true"
            }
            if let (key, was, value) = Self.firstDifference(saved: savedRun, now: state.run) {
                if key == "dtype" {
                    throw ElectraError("--resume: \(ckpt.lastPathComponent) was made with dtype \(was), this run has \(value); resume with the same --dtype or start a new output folder")
                }
                if key == "gradient_accumulation_steps" {
                    throw ElectraError("--resume: \(ckpt.lastPathComponent) was made with \(was) micro-batches per step (world size x --gradient-accumulation-steps), this run has \(value) (\(group.size) x \(options.gradientAccumulation)); keep the global batch: choose --gradient-accumulation-steps so that world size x it is \(was)")
                }
                throw ElectraError("--resume: \(ckpt.lastPathComponent) was made with \(key) \(was), this run has \(value); resume with the same value or start a new output folder")
            }
            let saved = try TrainerCheckpoints.restore(from: ckpt, models: task.models, optimizer: optimizer, dropout: dropout)
            state.step = saved.step
            state.bestMetric = saved.bestMetric
            state.bestCheckpoint = saved.bestCheckpoint
            state.evalsWithoutImprovement = saved.evalsWithoutImprovement
            state.elapsedSeconds = saved.elapsedSeconds
            try task.restoreCheckpointState(saved.task)
            say("resuming from \(ckpt.lastPathComponent) at step \(state.step)")
        }
        if group.size > 1 { try agreeWithRankZero(step: state.step) }
        defer {
            reducer?.stop()
            reducer?.unhook()
        }
        let root = group.isRoot
        if root { try FileManager.default.createFolder(at: output) }
        // Before the log exists, so a run whose metrics.jsonl is there always stops cleanly.
        if options.checkpointOnSignal { StopSignals.install() }
        // Rank 0 alone writes; the others train and follow its decisions.
        let logURL = output.appendingPathComponent("metrics.jsonl")
        let log = root ? try (resume ? MetricsLog(url: logURL, resumingAt: state.step) : MetricsLog(url: logURL)) : nil
        if var reference = task.referenceRecord, log?.contains(kind: "reference") == false {
            reference["step"] = Double(state.step)
            log?.append(reference, kind: "reference")
        }
        let started = Date(), priorSeconds = state.elapsedSeconds, startStep = state.step
        /// Training seconds over all sessions of this run.
        func runSeconds() -> Double { priorSeconds + Date().timeIntervalSince(started) }
        let deadline = options.maxTime.map { started.addingTimeInterval($0 - priorSeconds) }
        func progressLine() -> ProgressLine {
            // Before a time-sized run knows its pace its length is unknown (shown as "?").
            let known = !(sizingFromTime && state.run["total_steps_from_time"] == nil)
            var line = ProgressLine(totalSteps: known ? totalSteps : nil, started: started, firstStep: startStep,
                                    priorSeconds: priorSeconds, deadline: deadline)
            line.ranks = group.size
            return line
        }
        var progress = progressLine()
        var firstStepDone: Date?
        var window = LogWindow()
        var lastLoss = Double.nan, lastMetrics: [String: Double] = [:], stoppedEarly = false
        var order: (epoch: Int, perm: [Int]) = (-1, [])
        let micro = options.gradientAccumulation, B = options.batchSize, perStep = B * micro * group.size
        if group.size > 1 {
            say("data-parallel over \(group.size) ranks: \(group.size) x \(micro) micro-batches of \(B) examples per step (\(perStep) examples)")
        }
        while state.step < totalSteps {
            let epoch = state.step / stepsPerEpoch, pos = state.step % stepsPerEpoch
            if order.epoch != epoch { order = (epoch, permutation(epoch: epoch)) }
            // One optimizer step = the step's micro-batches of `batchSize` rows, over all
            // ranks: rank r computes micro-batches r*micro ..< (r+1)*micro (fewer, or none,
            // in an epoch's last, partial step). Gradients are summed by the backward passes
            // and over the ranks, then divided by the number of micro-batches.
            let stepRows = order.perm[(pos * perStep)..<min((pos + 1) * perStep, task.exampleCount)]
            let globalMicro = (stepRows.count + B - 1) / B
            let mine = min(group.rank * micro, globalMicro)..<min((group.rank + 1) * micro, globalMicro)
            parameters.zeroGradients()
            task.willStartStep(state.step)
            var loss = 0.0, tokens = 0, metrics: [String: Double] = [:]
            for g in mine {
                let lo = stepRows.startIndex + g * B
                let idx = stepRows[lo..<min(lo + B, stepRows.endIndex)]
                dropout.reseed(MicroBatchSeed.derive(options.seed &+ 1, step: state.step, microBatch: g))
                task.willStartMicroBatch(g)
                if g == mine.upperBound - 1, let reducer { reducer.beginStep() }
                defer { reducer?.armed = false }
                let r = try task.trainingStep(idx, dropout: dropout)
                loss += r.loss
                tokens += r.tokens
                metrics.merge(r.metrics, uniquingKeysWith: +)
            }
            if let reducer {
                if mine.isEmpty { reducer.beginStep() }
                reducer.finish()
                (loss, tokens, metrics) = combine(loss: loss, tokens: tokens, metrics: metrics)
            }
            Gradients.scale(trainable, by: 1 / Float(globalMicro))
            loss /= Double(globalMicro)
            metrics = metrics.mapValues { $0 / Double(globalMicro) }
            guard loss.isFinite else {
                let last = TrainerCheckpoints.latest(in: output)?.lastPathComponent ?? "none yet"
                throw ElectraError("the loss became \(loss) at step \(state.step + 1); stopping. The last good checkpoint is \(last) in \(output.path)")
            }
            let norm = Gradients.clipGlobalNorm(trainable, maxNorm: options.maxGradNorm)
            let lr = schedule.learningRate(at: optimizer.stepCount)
            optimizer.stepScales = task.learningRateScales(atStep: state.step)
            optimizer.step(learningRate: lr)
            state.step += 1
            let step = state.step
            lastLoss = loss
            if sizingFromTime && state.run["total_steps_from_time"] == nil {
                // Steps after the first (which allocates) set the pace; the schedule then
                // ends where the time budget does.
                if step == startStep + 1 { firstStepDone = Date() }
                if step == startStep + 6, let t1 = firstStepDone {
                    let perStep = Date().timeIntervalSince(t1) / 5
                    let left = options.maxTime! - runSeconds()
                    // Every rank takes rank 0's length (their clocks differ).
                    var fit = [Double(stepsFitting(seconds: left, from: step, perStep: perStep, measured: (startStep + 1)..<(startStep + 6)))]
                    group.broadcast(&fit)
                    setTotalSteps(min(Int(fit[0]), options.epochs * stepsPerEpoch))
                    state.run = runFingerprint
                    state.run["total_steps_from_time"] = "true"
                    progress = progressLine()
                    say("\(String(format: "%.2f", perStep)) s/step: the --max-time budget fits \(totalSteps) steps; the schedule now ends there")
                }
            }
            if let w = task.warning(after: metrics), !quiet {
                progress.finish()
                say("warning: \(w)")
            }
            window.add(loss: loss, tokens: tokens, metrics: metrics)
            let tps = window.tokensPerSecond
            let epochs = Double(step) / Double(stepsPerEpoch)
            if !quiet {
                progress.update(step: step, epoch: epochs, loss: loss, learningRate: Double(lr), tokensPerSecond: tps,
                                extras: metrics.sorted { $0.key < $1.key })
            }
            if step % options.logSteps == 0 || step == totalSteps {
                var rec = window.means
                rec["step"] = Double(step); rec["epoch"] = epochs
                rec["learning_rate"] = Double(lr); rec["grad_norm"] = Double(norm); rec["tokens_per_second"] = tps
                log?.append(rec, kind: "train")
                window = LogWindow()
            }
            let epochEnd = step % stepsPerEpoch == 0 || step == totalSteps
            var improved = false
            // Rank 0 validates; its verdicts reach the others with the step's decisions below.
            if root, (options.evalSteps > 0 && step % options.evalSteps == 0) || epochEnd, let log, let m = try task.evaluate() {
                lastMetrics = m
                var rec = m
                rec["step"] = Double(step); rec["epoch"] = epochs
                log.append(rec, kind: "eval")
                if !quiet {
                    progress.finish()
                    let text = m.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  ")
                    say("validation at step \(step): \(text)")
                }
                if let name = options.metricForBest {
                    guard let value = m[name] else {
                        throw ElectraError("--metric-for-best \(name): validation reports \(m.keys.sorted().joined(separator: ", "))")
                    }
                    let higher = options.higherIsBetter(name)
                    if let best = state.bestMetric, !(higher ? value > best : value < best) {
                        state.evalsWithoutImprovement += 1
                    } else {
                        state.bestMetric = value
                        state.evalsWithoutImprovement = 0
                        improved = true
                    }
                }
                try writePlot(log: log)
            }
            var outOfTime = options.maxTime.map { runSeconds() >= $0 } ?? false
            var stopRequested = options.checkpointOnSignal && StopSignals.requested
            var patienceOut = options.earlyStoppingPatience.map { state.evalsWithoutImprovement >= $0 } ?? false
            if group.size > 1 {
                // Rank 0's clock and validation decide for every rank; a signal to any rank
                // (a scheduler's SIGTERM may reach one process) stops them all.
                var decisions = [outOfTime, patienceOut].map { $0 ? 1.0 : 0.0 }
                group.broadcast(&decisions)
                var signals = [stopRequested ? 1.0 : 0.0]
                group.allreduceSum(&signals)
                (outOfTime, patienceOut, stopRequested) = (decisions[0] != 0, decisions[1] != 0, signals[0] != 0)
            }
            if root, (options.saveSteps > 0 && step % options.saveSteps == 0) || epochEnd || outOfTime || stopRequested {
                try checkFinite(step: step)
                if improved { state.bestCheckpoint = TrainerCheckpoints.name(step: step) }
                state.dropoutRNG = dropout.rng.state
                state.elapsedSeconds = runSeconds()
                state.task = task.checkpointState()
                try TrainerCheckpoints.save(step: step, models: task.models, optimizer: optimizer, state: state, in: output)
                if let limit = options.saveTotalLimit {
                    TrainerCheckpoints.rotate(in: output, limit: limit, keep: state.bestCheckpoint)
                }
            }
            if stopRequested {
                if !quiet { progress.finish() }
                // The others wait for rank 0's checkpoint: their stop ends the whole job.
                group.barrier()
                throw ElectraError("stopped by a signal at step \(step); \(TrainerCheckpoints.name(step: step)) in \(output.path) holds everything: run again with --resume to continue")
            }
            if outOfTime && step < totalSteps {
                if !quiet { progress.finish() }
                say("--max-time reached at step \(step) of \(totalSteps)")
                break
            }
            if let patience = options.earlyStoppingPatience, patienceOut {
                stoppedEarly = step < totalSteps
                if !quiet { progress.finish() }
                say("early stopping at step \(step): \(options.metricForBest!) has not improved for \(patience) validations")
                break
            }
        }
        if !quiet { progress.finish() }
        guard root else {
            return Summary(steps: state.step, finalLoss: lastLoss, metrics: lastMetrics, seconds: runSeconds(),
                           bestCheckpoint: nil, bestMetric: nil, stoppedEarly: stoppedEarly)
        }
        if let best = state.bestCheckpoint {
            // The output holds the best checkpoint's weights (HF's load_best_model_at_end).
            try TrainerCheckpoints.restoreWeights(from: output.appendingPathComponent(best), models: task.models)
        }
        try checkFinite(step: state.step)
        try TrainerCheckpoints.saveModels(task.models, to: output)
        if let log { try writePlot(log: log) }
        return Summary(steps: state.step, finalLoss: lastLoss, metrics: lastMetrics, seconds: runSeconds(),
                       bestCheckpoint: state.bestCheckpoint, bestMetric: state.bestMetric, stoppedEarly: stoppedEarly)
    }

    /// Every rank must start at rank 0's step with its settings and data. Each reads its own
    /// host's files: a stale copy of the data or another checkpoint in a host's OUT would
    /// train on other rows, or leave the ranks waiting in sums the others never reach. A rank
    /// that differs ends the job with what differs.
    func agreeWithRankZero(step: Int) throws {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over the sorted settings
        for byte in runFingerprint.sorted(by: { $0.key < $1.key }).map({ "\($0.key)=\($0.value)\n" }).joined().utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        // Doubles carry integers below 2^53 exactly: the hash goes in three parts.
        let mine = [Double(step), Double(task.exampleCount), Double(hash >> 43), Double((hash >> 22) & 0x1F_FFFF), Double(hash & 0x3F_FFFF)]
        var rankZero = mine
        group.broadcast(&rankZero)
        if rankZero[0] != mine[0] {
            throw ElectraError("rank \(group.rank) starts at step \(step), rank 0 at step \(Int(rankZero[0])): with --resume every rank reads the checkpoints in \(output.path), so every host needs that folder (shared storage)")
        }
        if rankZero[1] != mine[1] {
            throw ElectraError("rank \(group.rank) reads \(task.exampleCount) training examples, rank 0 reads \(Int(rankZero[1])): every host needs the same data at the same path")
        }
        if rankZero != mine {
            throw ElectraError("rank \(group.rank)'s settings, model or data differ from rank 0's: every host needs the same options, model and data")
        }
    }

    /// Sums a step's loss, tokens and metric sums over the ranks: every rank gets the loss and
    /// the tokens (the NaN stop must agree), rank 0 the metrics (it writes the log).
    func combine(loss: Double, tokens: Int, metrics: [String: Double]) -> (Double, Int, [String: Double]) {
        var v = [loss, Double(tokens)]
        group.allreduceSum(&v)
        var merged = metrics
        if let all = group.gather(MetricsWire.encode(metrics)) {
            merged = [:]
            for bytes in all { merged.merge(MetricsWire.decode(bytes), uniquingKeysWith: +) }
        }
        return (v[0], Int(v[1]), merged)
    }

    /// Refuses to save weights that overflowed (a learning rate far too high): NaN or inf in
    /// any parameter.
    func checkFinite(step: Int) throws {
        for (name, p) in parameters.uniqueParameters where !sumOfSquares(p.pointer, p.value.count).isFinite {
            throw ElectraError("the weights became non-finite (NaN or inf) by step \(step), first in \(name); the learning rate (\(options.learningRate)) is probably too high. Nothing was saved for this step")
        }
    }

    func say(_ line: String) {
        if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    /// The losses, then the task's validation metrics, against steps.
    func writePlot(log: MetricsLog) throws {
        let records = MetricsLog.read(log.url)
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
        func series(_ kind: String, _ key: String, _ color: String) -> SVGPlot.Series {
            let pts = records.filter { $0["kind"]?.stringValue == kind }.compactMap { r -> (x: Double, y: Double)? in
                guard let x = r["step"]?.doubleValue, let y = r[key]?.doubleValue else { return nil }
                return (x, y)
            }
            return SVGPlot.Series(name: "\(kind) \(key)", points: pts, color: color)
        }
        var panels: [(title: String, series: [SVGPlot.Series])] = [
            ("loss", [series("train", "loss", colors[0]), series("eval", "loss", colors[1])]),
        ]
        let xs = records.compactMap { $0["step"]?.doubleValue }
        let span = (xs.min() ?? 0, max(xs.max() ?? 1, 1))
        for panel in task.trainingPanels {
            var lines = panel.metrics.enumerated().map { series("train", $0.element, colors[$0.offset % colors.count]) }
            // The same metric on held-out data, when the task evaluates it, beside the training curve.
            lines += panel.metrics.enumerated().map { series("eval", $0.element, colors[($0.offset + 4) % colors.count]) }
                .filter { !$0.points.isEmpty }
            for (k, metric) in panel.metrics.enumerated() {
                for r in task.referenceLines where r.metric == metric {
                    var line = SVGPlot.Series(name: r.label, points: [(span.0, r.value), (span.1, r.value)],
                                              color: colors[(k + (r.heldOut ? 4 : 0)) % colors.count])
                    line.dashed = true
                    lines.append(line)
                }
            }
            panels.append((panel.title, lines))
        }
        if !task.plottedMetrics.isEmpty {
            panels.append(("validation", task.plottedMetrics.enumerated().map { series("eval", $0.element, colors[($0.offset + 2) % colors.count]) }))
        }
        let svg = SVGPlot.render(title: "training \(output.lastPathComponent)", xLabel: "step", panels: panels)
        try AtomicFile.write(Data(svg.utf8), to: output.appendingPathComponent("training.svg"))
    }
}

/// Running means over one logging window.
struct LogWindow {
    private var lossSum = 0.0, count = 0, tokens = 0
    private var sums: [String: Double] = [:]
    private let start = Date()

    mutating func add(loss: Double, tokens t: Int, metrics: [String: Double]) {
        lossSum += loss
        count += 1
        tokens += t
        sums.merge(metrics, uniquingKeysWith: +)
    }

    var tokensPerSecond: Double { Double(tokens) / max(Date().timeIntervalSince(start), 1e-9) }

    var means: [String: Double] {
        var m = sums.mapValues { $0 / Double(max(count, 1)) }
        m["loss"] = lossSum / Double(max(count, 1))
        return m
    }
}
