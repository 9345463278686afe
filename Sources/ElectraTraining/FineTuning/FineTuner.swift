import Electra
import Foundation

/// The fine-tuning loop for sequence classification: optimizer with layer-wise LR decay,
/// schedule, clipping, dropout, periodic validation, JSONL metrics, an SVG plot, atomic
/// checkpoints (model + optimizer + trainer state) and exact resume.
public final class SequenceClassificationFineTuner {
    public let model: ElectraForSequenceClassification
    public let train: EncodedClassificationSet
    public let validation: EncodedClassificationSet?
    public let options: FineTuneOptions
    public let output: URL
    /// Files copied into every saved model folder (tokenizer files).
    public let extraFiles: [URL]
    public let padId: Int
    public var quiet = false

    public let optimizer: AdamOptimizer
    public let schedule: LRSchedule
    public let totalSteps: Int
    public let stepsPerEpoch: Int
    let dropout: DropoutContext

    public init(model: ElectraForSequenceClassification, train: EncodedClassificationSet, validation: EncodedClassificationSet?,
                options o: FineTuneOptions, output: URL, extraFiles: [URL] = [], padId: Int) throws {
        guard train.count > 0 else { throw ElectraError("the training set is empty") }
        self.model = model
        self.train = train
        self.validation = validation
        options = o
        self.output = output
        self.extraFiles = extraFiles
        self.padId = padId
        let perStep = o.batchSize * max(o.gradientAccumulation, 1)
        stepsPerEpoch = (train.count + perStep - 1) / perStep
        totalSteps = o.maxSteps ?? o.epochs * stepsPerEpoch
        let named = model.parameters.uniqueParameters.map { (name: $0.name, parameter: $0.parameter) }
        let lw = LayerwiseLRDecay(decay: o.layerwiseDecay, numLayers: model.config.numHiddenLayers)
        let multiplier: ((String) -> Float)? = o.layerwiseDecay == 1 ? nil : { lw.multiplier(for: $0) }
        switch o.optimizer {
        case .adamw:
            optimizer = AdamW(parameters: named, epsilon: o.adamEpsilon, weightDecay: o.weightDecay, learningRateMultiplier: multiplier)
        case .electra:
            optimizer = ElectraAdamWeightDecay(parameters: named, epsilon: o.adamEpsilon, weightDecay: o.weightDecay, learningRateMultiplier: multiplier)
        }
        let warmup = Int((Double(totalSteps) * o.warmupFraction).rounded())
        switch o.schedule {
        case .electra: schedule = .electra(peak: o.learningRate, warmupSteps: warmup, totalSteps: totalSteps)
        case .linear: schedule = .linear(peak: o.learningRate, warmupSteps: warmup, totalSteps: totalSteps)
        case .constant: schedule = .constant(peak: o.learningRate)
        }
        dropout = DropoutContext(seed: o.seed &+ 1)
        model.parameters.zeroGradients()
    }

    /// The order of examples in `epoch`: a seeded shuffle, or file order.
    func permutation(epoch: Int) -> [Int] {
        var p = Array(0..<train.count)
        guard options.shuffle else { return p }
        var rng = Xoshiro256(seed: options.seed &+ 1000 &+ UInt64(epoch))
        for i in stride(from: p.count - 1, to: 0, by: -1) { p.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return p
    }

    public struct Summary: Sendable {
        public var steps: Int
        public var finalLoss: Double
        public var metrics: [String: Double]
        public var seconds: Double
    }

    /// Runs to `totalSteps`, starting from the latest checkpoint in `output` when `resume`.
    @discardableResult
    public func run(resume: Bool) throws -> Summary {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        var step = 0
        if resume, let ckpt = Checkpoints.latest(in: output) {
            step = try Checkpoints.restore(from: ckpt, model: model, optimizer: optimizer, dropout: dropout)
            if !quiet { FileHandle.standardError.write(Data("resuming from \(ckpt.lastPathComponent) at step \(step)\n".utf8)) }
        }
        let log = try MetricsLog(url: output.appendingPathComponent("metrics.jsonl"))
        var progress = ProgressLine(totalSteps: totalSteps)
        let started = Date()
        var windowTokens = 0, windowStart = Date(), lossSum = 0.0, lossCount = 0
        var lastLoss = Double.nan, lastMetrics: [String: Double] = [:]
        var order: (epoch: Int, perm: [Int]) = (-1, [])
        while step < totalSteps {
            let epoch = step / stepsPerEpoch, pos = step % stepsPerEpoch
            if order.epoch != epoch { order = (epoch, permutation(epoch: epoch)) }
            // One optimizer step = `gradientAccumulation` micro-batches; gradients are summed,
            // then averaged (each micro-batch loss is already a mean over its examples).
            let micro = max(options.gradientAccumulation, 1), perStep = options.batchSize * micro
            let stepRows = order.perm[(pos * perStep)..<min((pos + 1) * perStep, train.count)]
            model.parameters.zeroGradients()
            var loss = 0.0, used = 0, tokens = 0
            var lo = stepRows.startIndex
            while lo < stepRows.endIndex {
                let idx = stepRows[lo..<min(lo + options.batchSize, stepRows.endIndex)]
                let inputs = train.batch(idx, padId: padId)
                let out = try model.forwardBackward(inputs, dropout: dropout)
                loss += Double(out.loss!)
                used += 1
                tokens += inputs.attentionMask!.values.reduce(0, +)
                lo = idx.endIndex
            }
            loss /= Double(used)
            if used > 1 { Gradients.scale(model.parameters, by: 1 / Float(used)) }
            guard loss.isFinite else {
                let last = Checkpoints.latest(in: output)?.lastPathComponent ?? "none yet"
                throw ElectraError("the loss became \(loss) at step \(step + 1); stopping. The last good checkpoint is \(last) in \(output.path)")
            }
            let norm = Gradients.clipGlobalNorm(model.parameters, maxNorm: options.maxGradNorm)
            let lr = schedule.learningRate(at: optimizer.stepCount)
            optimizer.step(learningRate: lr)
            step += 1
            lossSum += loss; lossCount += 1; lastLoss = loss
            windowTokens += tokens
            let tps = Double(windowTokens) / max(Date().timeIntervalSince(windowStart), 1e-9)
            if !quiet {
                progress.update(step: step, epoch: Double(step) / Double(stepsPerEpoch), loss: loss, learningRate: Double(lr), tokensPerSecond: tps)
            }
            if step % options.logSteps == 0 || step == totalSteps {
                log.append(["step": Double(step), "epoch": Double(step) / Double(stepsPerEpoch), "loss": lossSum / Double(lossCount),
                            "learning_rate": Double(lr), "grad_norm": Double(norm), "tokens_per_second": tps], kind: "train")
                lossSum = 0; lossCount = 0; windowTokens = 0; windowStart = Date()
            }
            let epochEnd = step % stepsPerEpoch == 0 || step == totalSteps
            if let validation, (options.evalSteps > 0 && step % options.evalSteps == 0) || epochEnd {
                let r = try ClassificationEvaluation.run(model, validation, batchSize: max(options.batchSize, 64), padId: padId)
                lastMetrics = r.metrics
                var rec = r.metrics
                rec["step"] = Double(step)
                rec["epoch"] = Double(step) / Double(stepsPerEpoch)
                log.append(rec, kind: "eval")
                if !quiet {
                    progress.finish()
                    let text = r.metrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  ")
                    FileHandle.standardError.write(Data("validation at step \(step): \(text)\n".utf8))
                }
                try writePlot(log: log)
            }
            if (options.saveSteps > 0 && step % options.saveSteps == 0) || epochEnd {
                try Checkpoints.save(step: step, model: model, optimizer: optimizer, dropout: dropout, in: output, extraFiles: extraFiles)
            }
        }
        if !quiet { progress.finish() }
        try model.save(to: output)
        for f in extraFiles { try Checkpoints.copyReplacing(f, into: output) }
        try writePlot(log: log)
        return Summary(steps: step, finalLoss: lastLoss, metrics: lastMetrics, seconds: Date().timeIntervalSince(started))
    }

    func writePlot(log: MetricsLog) throws {
        let records = MetricsLog.read(log.url)
        func series(_ kind: String, _ key: String, _ color: String) -> SVGPlot.Series {
            let pts = records.filter { $0["kind"]?.stringValue == kind }.compactMap { r -> (x: Double, y: Double)? in
                guard let x = r["step"]?.doubleValue, let y = r[key]?.doubleValue else { return nil }
                return (x, y)
            }
            return SVGPlot.Series(name: "\(kind) \(key)", points: pts, color: color)
        }
        let metric = train.isRegression ? "pearson" : "accuracy"
        var panels: [(title: String, series: [SVGPlot.Series])] = [("loss", [series("train", "loss", "#1f77b4"), series("eval", "loss", "#d62728")])]
        panels.append(("validation", [series("eval", metric, "#2ca02c"), series("eval", "matthews", "#9467bd")]))
        let svg = SVGPlot.render(title: "fine-tuning \(output.lastPathComponent)", xLabel: "step", panels: panels)
        try AtomicFile.write(Data(svg.utf8), to: output.appendingPathComponent("training.svg"))
    }
}
