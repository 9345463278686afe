import ArgumentParser
import Electra
import ElectraKernels
import ElectraTokenizers
import ElectraTraining
import Foundation

struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pretrain ELECTRA by replaced token detection (or masked LM) into HF model folders.",
        discussion: """
        --objective rtd trains a generator and a discriminator jointly (shared embeddings, loss = \
        1 x generator MLM + 50 x discriminator BCE) and writes OUT/discriminator \
        (ElectraForPreTraining) and OUT/generator (ElectraForMaskedLM). --objective mlm trains a \
        discriminator-sized masked LM into OUT/model, for comparisons at equal compute. \
        Defaults follow the original recipe: AdamWeightDecay without bias correction, the \
        preset's learning rate, linear warmup (10% of the steps unless --warmup-steps) then linear \
        decay, weight decay 0.01 except LayerNorm and biases, clip 1.0, mask 15% (85% [MASK]). \
        OUT also gets checkpoint-STEP/ folders (every --save-steps, at the end, and on Ctrl-C or \
        SIGTERM), metrics.jsonl and training.svg.
        """)

    @Option(parsing: .upToNextOption, help: "A prepare-data folder, or raw text files (prepared into OUT/data with --tokenizer).")
    var data: [String]
    @Option(help: "Output folder.") var output: String
    @Option(help: "Tokenizer folder (default: the one prepare-data stored with the data).") var tokenizer: String?
    @Option(help: "Model shape: \(PretrainingPreset.names.joined(separator: ", ")).") var preset = "small"
    @Option(help: "rtd (replaced token detection) or mlm (masked LM).") var objective = "rtd"
    @Option(help: "Generator hidden size as a share of the discriminator's (default: the preset's: 1 for tiny and mini, 0.25 for small).") var generatorSize: Double?
    @Option(help: "Examples per micro-batch.") var batchSize = 32
    @Option(help: "Micro-batches per optimizer step.") var gradientAccumulationSteps = 1
    @Option(help: "Optimizer steps (default: one pass over the data, or what --max-time allows).") var maxSteps: Int?
    @Option(help: "Wall-clock budget, e.g. 90s, 20m, 2h, 1h30m: the schedule is sized from the first steps' speed to end with it.") var maxTime: String?
    @Option(help: "Peak learning rate (default: the preset's).") var learningRate: Float?
    @Option(help: "Warmup steps (default: 10% of the steps).") var warmupSteps: Int?
    @Option(help: "Decoupled weight decay.") var weightDecay: Float = 0.01
    @Option(help: "Share of tokens masked.") var maskProb: Double?
    @Option(help: "rtd: weight of the discriminator's loss (default 50).") var discriminatorWeight: Float?
    @Option(help: "rtd: weight of the generator's loss (default 1).") var generatorWeight: Float?
    @Option(help: "rtd: sampling temperature of the generator once any temperature warmup is over (default 1).") var temperature: Float?
    @Option(help: "rtd: sample at this temperature when the discriminator joins, cooling linearly to --temperature over --temperature-warmup steps (default: the preset's: 3 for tiny and mini).") var startTemperature: Float?
    @Option(help: "Dropout of both models, hidden and attention (default: the preset's: 0 for tiny and mini, 0.1 for the paper's shapes).") var dropout: Float?
    @Option(help: "absolute (learned positions, every HF version), relative_key or relative_key_query (transformers 4.x only).") var positionEmbeddingType = "absolute"
    @Option(help: "Position embeddings' start: normal (HF's init) or sinusoidal (default: the preset's: sinusoidal for tiny and mini).") var positionInit: String?
    @Option(help: "sinusoidal: the table's RMS (default: the preset's: 0.1 for tiny and mini).") var positionInitRms: Float?
    @Option(help: "The std embeddings_project (embedding size -> hidden size, when they differ) starts at (default: the preset's; HF's initializer_range 0.02 otherwise).") var projectionInitStd: Float?
    @Option(help: "Sequence length warmup: the first N steps train on pieces of the examples (--seq-length-start tokens, doubling in equal shares of the N steps), then on whole examples.") var seqLengthWarmup: Int?
    @Option(help: "The first piece length of the sequence length warmup (default 16).") var seqLengthStart: Int?
    @Option(help: "rtd: the first N steps train the generator alone.") var generatorWarmup: Int?
    @Option(help: "rtd: true to start the discriminator's encoder as a copy of the generator's when it joins after --generator-warmup (needs --generator-size 1; default: the preset's: true for tiny and mini).") var discriminatorFromGenerator: Bool?
    @Option(help: "rtd: steps over which the discriminator's own learning rate ramps up from 0 after --generator-warmup.") var discriminatorRamp: Int?
    @Option(help: "rtd: steps over which sampling cools from --start-temperature to --temperature after --generator-warmup.") var temperatureWarmup: Int?
    @Option(help: "adam (AdamWeightDecay without bias correction, the original's) or adamw (bias-corrected, PyTorch's).") var optimizer = "electra"
    @Option(help: "Adam's second-moment decay.") var adamBeta2: Float = 0.999
    @Option(help: "Adam's epsilon.") var adamEpsilon: Float = 1e-6
    @Option(help: "A prepare-data folder of held-out text, scored every --eval-steps: the generator on [MASK]ed positions, the discriminator at temperature 1.") var validation: String?
    @Option(help: "Score --validation every N steps (and at the end; default 500).") var evalSteps: Int?
    @Option(help: "Examples of --validation scored (the first N, masked once with a fixed seed; default 512).") var evalExamples: Int?
    @Option(help: "Max tokens per example when --data is raw text (default 128).") var maxSeqLength: Int?
    @Option(help: "Seed (weights, masking, sampling, dropout, order).") var seed: UInt64 = 42
    @Option(help: "Checkpoint every N steps (and at the end).") var saveSteps = 500
    @Option(help: "Keep at most N checkpoints.") var saveTotalLimit = 2
    @Option(help: "Log to metrics.jsonl every N steps.") var logSteps = 10
    @Flag(help: "Continue from the latest checkpoint in the output folder (same settings and data).") var resume = false
    @Flag(help: "Replace what an earlier run wrote in the output folder.") var overwriteOutput = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @OptionGroup var distributedOptions: DistributedOptions
    @Option(help: ArgumentHelp(stringLiteral: TrainingDTypeOption.help)) var dtype = "fp32"

    func run() throws {
        try runReportingErrors {
            try ThreadOption.apply(threads)
            let group = try distributedOptions.join()
            guard objective == "rtd" || objective == "mlm" else {
                throw ElectraError("--objective must be rtd or mlm, got '\(objective)'")
            }
            if resume && overwriteOutput { throw ElectraError("pass either --resume or --overwrite-output, not both") }
            let preset = try PretrainingPreset.named(self.preset)
            let budget = try maxTime.map(Self.parseDuration)
            let recipe = try self.recipe(preset)
            guard let optimizerKind = TrainerOptions.OptimizerKind(rawValue: optimizer == "adam" ? "electra" : optimizer) else {
                throw ElectraError("--optimizer must be electra (AdamWeightDecay, no bias correction) or adamw, got '\(optimizer)'")
            }
            if let n = evalExamples, n <= 0 { throw ElectraError("--eval-examples must be positive, got \(n)") }
            if let n = evalSteps, n <= 0 { throw ElectraError("--eval-steps must be positive, got \(n)") }
            try refuseOptions([("--eval-steps", evalSteps != nil && validation == nil), ("--eval-examples", evalExamples != nil && validation == nil)],
                              on: "a run without --validation")
            if objective == "mlm" {
                try refuseOptions([
                    ("--generator-size", generatorSize != nil), ("--discriminator-weight", discriminatorWeight != nil),
                    ("--generator-weight", generatorWeight != nil), ("--temperature", temperature != nil),
                    ("--start-temperature", startTemperature != nil), ("--generator-warmup", generatorWarmup != nil),
                    ("--discriminator-from-generator", discriminatorFromGenerator != nil), ("--discriminator-ramp", discriminatorRamp != nil),
                    ("--temperature-warmup", temperatureWarmup != nil),
                ], on: "--objective mlm (one masked-LM model, no generator or discriminator)")
            }
            let kind = PretrainingRecipe.Objective(rawValue: objective)!
            let out = URL(fileURLWithPath: output)
            let folders = objective == "rtd" ? ["discriminator", "generator"] : ["model"]
            let layout = folders.map { (folder: $0, extraFiles: TokenizerFiles.names) }
            let dataURLs = data.map { URL(fileURLWithPath: $0) }
            guard !dataURLs.isEmpty else { throw ElectraError("--data needs a prepare-data folder or text files") }
            let isFolder = dataURLs.count == 1 && FileManager.default.fileExists(atPath: dataURLs[0].appendingPathComponent(PretrainingManifest.fileName).path)
            var inputs = dataURLs.map { ("--data", $0) }
            if let v = validation { inputs.append(("--validation", URL(fileURLWithPath: v))) }
            if let t = tokenizer { inputs.append(("--tokenizer", URL(fileURLWithPath: t))) }
            try DistributedJob.rootFirst(group) {
                // Raw text is prepared into OUT/data: the run's folder, like its models', so no input may lie there.
                try RunOutput.check(out, inputs: inputs, mode: resume ? .resume : overwriteOutput ? .overwrite : .fresh, models: layout,
                                    otherWrites: isFolder ? [] : ["data"])
            }
            if isFolder, maxSeqLength != nil {
                throw ElectraError("--max-seq-length applies to raw text --data; \(dataURLs[0].path) is prepared already (its length is in manifest.json)")
            }
            if group.size > 1 && !isFolder {
                // A folder another rank sees may be missing on this rank's host: say which.
                let what = dataURLs.count == 1 && !FileManager.default.fileExists(atPath: dataURLs[0].path)
                    ? "\(dataURLs[0].path) does not exist on this rank's host (every host needs the prepared folder at the same path)"
                    : "a data-parallel job reads one prepared folder on every rank; run `electra prepare-data` first and pass its folder"
                throw ElectraError("--data: \(what)")
            }

            // The data and its tokenizer, read (or prepared) before the output changes.
            let dataFolder: URL, tok: ElectraTokenizer, tokFiles: [URL]
            if isFolder {
                dataFolder = dataURLs[0]
                (tok, tokFiles) = try TokenizerFiles.load(tokenizer.map { try ModelArgument.folder($0, option: "--tokenizer") } ?? dataFolder.appendingPathComponent("tokenizer"),
                                                          hint: "pass --tokenizer DIR")
            } else {
                guard let t = tokenizer else {
                    throw ElectraError("--data \(dataURLs[0].path) is not a prepare-data folder (no manifest.json); to prepare raw text on the fly, pass --tokenizer DIR")
                }
                (tok, tokFiles) = try TokenizerFiles.load(URL(fileURLWithPath: t), hint: "pass --tokenizer DIR")
                dataFolder = out.appendingPathComponent("data")
                let reused = resume && FileManager.default.fileExists(atPath: dataFolder.appendingPathComponent(PretrainingManifest.fileName).path)
                if reused, let n = maxSeqLength, let m = try? PretrainingData(folder: dataFolder).manifest, m.maxSeqLength != n {
                    throw ElectraError("--max-seq-length \(n): --resume reuses \(dataFolder.path), prepared at \(m.maxSeqLength)")
                }
                if !reused {
                    var prep = DataPreparation(tokenizer: tok)
                    if let n = maxSeqLength { prep.maxSeqLength = n }
                    prep.seed = seed
                    StopSignals.install()
                    prep.shouldStop = { StopSignals.requested }
                    FileHandle.standardError.write(Data("preparing \(dataURLs.map(\.lastPathComponent).joined(separator: ", ")) into \(dataFolder.path)\n".utf8))
                    try FileManager.default.createFolder(at: out)
                    // An earlier run's data is replaced only once the new data is whole.
                    try AtomicFolder.create(dataFolder, replace: overwriteOutput, option: "--overwrite-output", removingStale: PretrainingManifest.isWritten) { tmp in
                        _ = try prep.run(inputs: dataURLs, into: tmp)
                    }
                }
            }
            let corpus = try PretrainingData(folder: dataFolder)
            guard corpus.manifest.tokenizerFingerprint == tok.fingerprint else {
                throw ElectraError("\(dataFolder.path) was prepared with another tokenizer (manifest \(corpus.manifest.tokenizerFingerprint), this one \(tok.fingerprint)); prepare the data again with this tokenizer")
            }
            let heldOutData = try validation.map { try PretrainingData(folder: URL(fileURLWithPath: $0)) }
            if let h = heldOutData, h.manifest.tokenizerFingerprint != tok.fingerprint {
                throw ElectraError("--validation \(h.folder.path) was prepared with another tokenizer than --data; prepare it with the same one")
            }
            var disc = preset.discriminator
            disc.vocabSize = tok.vocabSizeWithAddedTokens
            disc.padTokenId = tok.padTokenId
            guard corpus.manifest.maxSeqLength <= disc.maxPositionEmbeddings else {
                throw ElectraError("the data's examples are up to \(corpus.manifest.maxSeqLength) tokens; the model has \(disc.maxPositionEmbeddings) positions")
            }
            let special = SpecialIds(cls: tok.clsTokenId, sep: tok.sepTokenId, mask: tok.maskTokenId, pad: tok.padTokenId, vocabSize: disc.vocabSize)

            var o = TrainerOptions()
            o.learningRate = learningRate ?? preset.learningRate
            o.layerwiseDecay = 1
            o.weightDecay = weightDecay
            o.batchSize = batchSize
            o.gradientAccumulation = gradientAccumulationSteps
            o.optimizer = optimizerKind
            o.adamBeta2 = adamBeta2
            o.adamEpsilon = adamEpsilon
            o.evalSteps = heldOutData == nil ? 0 : evalSteps ?? 500
            o.schedule = .electra
            o.seed = seed
            o.warmupSteps = warmupSteps
            o.maxSteps = maxSteps
            o.maxTime = budget
            o.epochs = budget != nil && maxSteps == nil ? 1_000_000 : 1
            o.saveSteps = saveSteps
            o.saveTotalLimit = saveTotalLimit
            o.logSteps = logSteps
            o.checkpointOnSignal = true
            o.computeDType = try TrainingDTypeOption.parse(dtype)
            try o.validate()

            let job = try recipe.makeTask(objective: kind, discriminator: disc, data: corpus, special: special, seed: seed,
                                          extraFiles: tokFiles, heldOut: heldOutData, evalExamples: evalExamples ?? 512)
            let describe = { (c: ElectraConfig) in "\(c.numHiddenLayers) layers, hidden \(c.hiddenSize), \(c.numAttentionHeads) heads, FFN \(c.intermediateSize), embeddings \(c.embeddingSize)" }
            var summary = ""
            if let t = job as? ReplacedTokenDetectionTask {
                summary = "discriminator: \(describe(t.discriminator.config)) (\(t.discriminator.parameterCount) parameters); generator: \(describe(t.generator.config))"
            } else if let t = job as? MaskedLMPretrainingTask {
                summary = "masked LM: \(describe(t.model.config)) (\(t.model.parameterCount) parameters)"
            }
            let trainer = try Trainer(task: job, options: o, output: out, group: DistributedJob.group)
            if overwriteOutput, DistributedJob.group.isRoot { try RunOutput.clearPreviousRun(out, models: layout) }
            let steps = budget != nil && maxSteps == nil ? "steps sized to \(maxTime!)" : "\(trainer.totalSteps) steps"
            if group.size > 1 { FileHandle.standardError.write(Data("rank 0 of \(group.size); ".utf8)) }
            FileHandle.standardError.write(Data("pretraining (\(objective), preset \(self.preset)) on \(corpus.exampleCount) examples (\(corpus.manifest.tokens) tokens), \(steps) of \(batchSize * gradientAccumulationSteps) examples; \(summary)\n".utf8))
            let s = try trainer.run(resume: resume)
            print(Self.summaryParagraph(s, objective: objective, output: out, folders: folders, log: MetricsLog.read(out.appendingPathComponent("metrics.jsonl"))))
        }
    }

    /// The preset's recipe with the options given on top. Giving any warmup length uses the
    /// warmups as given (the preset's for the others), unscaled by the run's length.
    func recipe(_ preset: PretrainingPreset) throws -> PretrainingRecipe {
        var r = preset.recipe
        if let v = generatorSize { r.generatorSize = v }
        if let v = maskProb { r.masking.maskProbability = v }
        if let v = discriminatorWeight { r.discriminatorWeight = v }
        if let v = generatorWeight { r.generatorWeight = v }
        if let v = temperature { r.temperature = v }
        if let v = startTemperature { r.startTemperature = v }
        if let v = dropout { r.dropout = v }
        guard let pet = PositionEmbeddingType(rawValue: positionEmbeddingType) else {
            throw ElectraError("--position-embedding-type must be one of \(PositionEmbeddingType.allCases.map(\.rawValue).joined(separator: ", ")), got '\(positionEmbeddingType)'")
        }
        r.positionEmbeddingType = pet
        if let name = positionInit {
            guard let p = PositionInitialization(rawValue: name) else {
                throw ElectraError("--position-init must be \(PositionInitialization.allCases.map(\.rawValue).joined(separator: " or ")), got '\(name)'")
            }
            r.positionInitialization = p
        }
        if let v = positionInitRms { r.positionInitRMS = v }
        if let v = projectionInitStd { r.projectionInitStd = v }
        if let v = seqLengthStart { r.sequenceLengthStart = v }
        if let v = discriminatorFromGenerator { r.discriminatorFromGenerator = v }
        let given = [seqLengthWarmup, generatorWarmup, discriminatorRamp, temperatureWarmup]
        if given.contains(where: { $0 != nil }) { r.scalesWarmups = false }
        if let v = seqLengthWarmup { r.warmups.sequenceLength = v }
        if let v = generatorWarmup { r.warmups.generator = v }
        if let v = discriminatorRamp { r.warmups.discriminatorRamp = v }
        if let v = temperatureWarmup { r.warmups.temperature = v }
        if r.discriminatorFromGenerator, r.generatorSize != 1 || r.warmups.generator == 0, discriminatorFromGenerator == nil {
            r.discriminatorFromGenerator = false  // the preset's default, with no generator it could copy (or no generator at all: mlm)
        }
        if seqLengthStart != nil && r.warmups.sequenceLength == 0 {
            throw ElectraError("--seq-length-start applies to a sequence length warmup; give --seq-length-warmup N too")
        }
        try r.validate()
        return r
    }

    /// The end-of-run paragraph: steps, time, tokens, the last logged metrics against the
    /// unigram baseline, and the last held-out scores.
    static func summaryParagraph(_ s: Trainer.Summary, objective: String, output: URL, folders: [String], log: [[String: JSONValue]]) -> String {
        let last = log.last { $0["kind"]?.stringValue == "train" } ?? [:]
        let eval = log.last { $0["kind"]?.stringValue == "eval" }
        let reference = log.last { $0["kind"]?.stringValue == "reference" }
        func v(_ k: String, _ r: [String: JSONValue] = last) -> String { r[k]?.doubleValue.map { String(format: "%.3f", $0) } ?? "n/a" }
        let tps = last["tokens_per_second"]?.doubleValue.map { String(format: "%.0f", $0) } ?? "n/a"
        let model = objective == "rtd" ? "generator" : "model"
        var text = "Pretrained (\(objective)) for \(s.steps) steps in \(ProgressLine.clock(s.seconds)) at \(tps) tokens/s. "
        text += "At the end the \(model) predicted \(v("generator_masked_accuracy")) of [MASK]ed tokens (loss \(v("generator_masked_loss")) nats"
        if let r = reference {
            text += "; knowing word frequencies only gives \(v("unigram_top1_share", r)) and \(v("unigram_entropy", r)) nats"
        }
        text += "). "
        if objective == "rtd" {
            text += "The discriminator classified \(v("discriminator_accuracy")) of tokens correctly (loss \(v("discriminator_loss"))), "
            text += "AUC \(v("discriminator_auc")), precision \(v("precision")) and recall \(v("recall")) on replaced tokens, which were \(v("replaced_fraction")) of all tokens. "
        }
        if let e = eval {
            text += "Held out: [MASK]ed top-1 \(v("generator_masked_accuracy", e)), loss \(v("generator_masked_loss", e))"
            if objective == "rtd" { text += "; discriminator AUC \(v("discriminator_auc", e)) at temperature 1" }
            text += ". "
        }
        text += "Models: \(folders.map { output.appendingPathComponent($0).path }.joined(separator: ", ")); log: metrics.jsonl; plot: training.svg."
        return text
    }

    /// "90", "90s", "20m", "2h", "1h30m", "1d" -> seconds.
    static func parseDuration(_ text: String) throws -> Double {
        let bad = ElectraError("--max-time '\(text)' is not a duration; use e.g. 90s, 20m, 2h or 1h30m")
        if let plain = Double(text) { guard plain > 0 else { throw bad }; return plain }
        var total = 0.0, number = ""
        for ch in text.lowercased() {
            if ch.isNumber || ch == "." { number.append(ch); continue }
            guard let n = Double(number) else { throw bad }
            switch ch {
            case "s": total += n
            case "m": total += n * 60
            case "h": total += n * 3600
            case "d": total += n * 86400
            default: throw bad
            }
            number = ""
        }
        guard number.isEmpty, total > 0 else { throw bad }
        return total
    }
}
