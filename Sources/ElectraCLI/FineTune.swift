import ArgumentParser
import Electra
import ElectraTokenizers
import ElectraTraining
import Foundation

/// Column options shared by finetune and evaluate.
struct ColumnOptions: ParsableArguments {
    @Option(help: "0-based column of the text (default: detected from a GLUE header, or CoLA's layout).")
    var textColumn: Int?
    @Option(help: "0-based column of the second text of a pair.")
    var pairColumn: Int?
    @Option(help: "0-based column of the label.")
    var labelColumn: Int?
    @Flag(inversion: .prefixedNo, help: "Whether the first line is a header (with explicit columns; default: header).")
    var header = true

    func layout() throws -> TSVLayout? {
        guard let t = textColumn else {
            if pairColumn != nil || labelColumn != nil { throw ElectraError("--pair-column/--label-column need --text-column too") }
            if !header { throw ElectraError("--no-header needs --text-column and --label-column (without them the layout is detected from the file's header, or CoLA's)") }
            return nil
        }
        guard let l = labelColumn else { throw ElectraError("--text-column needs --label-column") }
        return TSVLayout(textColumn: t, pairColumn: pairColumn, labelColumn: l, hasHeader: header)
    }
}

enum TokenizerFiles {
    /// Every file the tokenizer reads (added_tokens.json included): what a copy must carry.
    static let names = ModelFolderFiles.tokenizerNames

    /// The tokenizer files present in `dir`.
    static func present(in dir: URL) -> [URL] {
        names.map { dir.appendingPathComponent($0) }.filter { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// A fine-tuned classifier folder: the model and its tokenizer. A head initialised at
    /// random (the folder holds no classifier weights) is warned about, as infer does.
    static func loadClassifier(_ path: String) throws -> (ElectraForSequenceClassification, ElectraTokenizer) {
        let dir = URL(fileURLWithPath: path)
        let (model, report) = try ElectraForSequenceClassification.load(from: dir)
        for w in report.warnings { warn(w) }
        if !report.missing.isEmpty {
            warn("\(dir.lastPathComponent) is not a fine-tuned classifier (its classifier weights were just initialised at random): the labels below mean nothing")
        }
        return (model, try load(dir, hint: "the model folder must hold the tokenizer files it was fine-tuned with").0)
    }

    /// `hint` says how to supply a tokenizer in the command at hand.
    static func load(_ dir: URL, hint: String) throws -> (ElectraTokenizer, [URL]) {
        let files = present(in: dir)
        guard !files.isEmpty else {
            throw ElectraError("no tokenizer in \(dir.path) (expected tokenizer.json or vocab.txt); \(hint)")
        }
        do {
            return (try ElectraTokenizer.load(directory: dir), files)
        } catch let e as ElectraError {
            throw e
        } catch {
            throw ElectraError("\(error)")
        }
    }
}

struct FineTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a sequence classifier on GLUE-style TSV files (original ELECTRA recipe by default).",
        discussion: "The output folder gets the fine-tuned HF model folder, checkpoint-STEP/ folders, metrics.jsonl and training.svg. An existing output folder is refused unless --resume (continue from its latest checkpoint, with the same settings and data) or --overwrite-output (replace what an earlier run wrote there, after the inputs are read; other files stay). No input may be the output folder or lie where a run writes.")

    @Option(help: "Model folder to start from (config.json + weights; tokenizer files unless --tokenizer).")
    var model: String
    @Option(help: "sequence-classification (TSV files), token-classification (CoNLL files), question-answering (SQuAD JSON; --max-length defaults to 384) or multiple-choice (JSON lines or SWAG CSV).")
    var task = "sequence-classification"
    @Option(help: "Token classification: 0-based column of the tag (default: the last).") var tagColumn: Int?
    @Flag(help: "Token classification: label every subword of a word (default: the first only, -100 on the rest).") var labelAllSubwords = false
    @Flag(name: .customLong("version-2-with-negative"), help: "Question answering: SQuAD 2.0, with unanswerable questions.") var version2WithNegative = false
    @Option(help: "Question answering: overlap between context windows, in tokens (default 128).") var docStride: Int?
    @Option(help: "Question answering: longest answer, in tokens (default 30).") var maxAnswerLength: Int?
    @Option(help: "Training TSV.") var train: String
    @Option(help: "Validation TSV.") var validation: String?
    @Option(help: "Output folder.") var output: String
    @Option(help: "Tokenizer folder (default: the model folder).") var tokenizer: String?
    @OptionGroup var columns: ColumnOptions
    @OptionGroup var distributedOptions: DistributedOptions
    @Option(help: "1 for regression; default: the number of distinct training labels, or a regression when they are numbers, not all whole (STS-B).")
    var numLabels: Int?

    @Option(help: "Peak learning rate.") var learningRate: Float = 1e-4
    @Option(help: "Layer-wise LR decay in (0, 1] (1.0 = off).") var layerwiseLrDecay: Double = 0.8
    @Option(help: "Epochs.") var epochs = 3
    @Option(help: "Warmup fraction of all steps, in [0, 1] (default 0.1; not with --lr-schedule constant).") var warmup: Double?
    @Option(help: "Decoupled weight decay (not on biases and LayerNorm).") var weightDecay: Float = 0.01
    @Option(help: "Batch size (per micro-batch).") var batchSize = 32
    @Option(help: "Micro-batches accumulated into one optimizer step.") var gradientAccumulationSteps = 1
    @Option(help: "Max tokens per example (longest_first truncation; at most the model's max_position_embeddings; default 128, question answering min(384, positions)).") var maxLength: Int?
    @Option(help: "adamw (PyTorch) or electra (original AdamWeightDecay, no bias correction).") var optimizer = "electra"
    @Option(help: "Adam epsilon.") var adamEpsilon: Float = 1e-6
    @Option(help: "Global gradient-norm clip.") var maxGradNorm: Float = 1.0
    @Option(help: "electra (warmup x linear decay), linear (HF), constant (no warmup), constant_with_warmup.") var lrSchedule = "electra"
    @Option(help: "Seed for shuffling, dropout and new head weights.") var seed: UInt64 = 42
    @Flag(help: "Batches are consecutive rows in file order.") var noShuffle = false
    @Option(help: "Override every dropout probability of the config, in [0, 1).") var dropout: Float?
    @Option(help: "Re-initialise the top N encoder layers before training, as HF initialises them (0: keep every pretrained layer).")
    var reinitLayers = 0
    @Option(help: "Stop after N optimizer steps.") var maxSteps: Int?
    @Option(help: "Validate every N steps (0: each epoch).") var evalSteps = 0
    @Option(help: "Checkpoint every N steps (0: each epoch).") var saveSteps = 0
    @Option(help: "Keep at most N checkpoints (the oldest go first; the best one is always kept).") var saveTotalLimit: Int?
    @Option(help: "Validation metric that ranks checkpoints (accuracy, f1, matthews, pearson, spearman, loss); the output model is the best checkpoint's. Needs --eval-steps equal to --save-steps.")
    var metricForBest: String?
    @Option(help: "Stop when --metric-for-best has not improved for N validations in a row.") var earlyStoppingPatience: Int?
    @Flag(help: "Replace what an earlier run wrote in the output folder (after the inputs are read).") var overwriteOutput = false
    @Flag(help: "Continue from the latest checkpoint in the output folder (same settings and data).") var resume = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: ArgumentHelp(stringLiteral: TrainingDTypeOption.help)) var dtype = "fp32"

    func options() throws -> TrainerOptions {
        var o = TrainerOptions()
        o.learningRate = learningRate; o.layerwiseDecay = layerwiseLrDecay; o.epochs = epochs
        if let w = warmup { o.warmupFraction = w }
        o.weightDecay = weightDecay; o.batchSize = batchSize
        o.gradientAccumulation = gradientAccumulationSteps
        guard let opt = TrainerOptions.OptimizerKind(rawValue: optimizer) else { throw ElectraError("--optimizer must be adamw or electra, got '\(optimizer)'") }
        guard let sched = TrainerOptions.ScheduleKind(rawValue: lrSchedule) else {
            throw ElectraError("--lr-schedule must be electra, linear, constant or constant_with_warmup, got '\(lrSchedule)'")
        }
        if sched == .constant, warmup != nil { throw ElectraError("--lr-schedule constant has no warmup (as HF's); drop --warmup or use constant_with_warmup") }
        o.optimizer = opt; o.schedule = sched; o.adamEpsilon = adamEpsilon; o.maxGradNorm = maxGradNorm
        o.seed = seed; o.shuffle = !noShuffle; o.maxSteps = maxSteps
        o.evalSteps = evalSteps; o.saveSteps = saveSteps; o.saveTotalLimit = saveTotalLimit
        o.metricForBest = metricForBest; o.earlyStoppingPatience = earlyStoppingPatience
        o.computeDType = try TrainingDTypeOption.parse(dtype)
        try o.validate()
        if let d = dropout, !(d >= 0 && d < 1) { throw ElectraError("--dropout must be in [0, 1), got \(d)") }
        if reinitLayers < 0 { throw ElectraError("--reinit-layers must be >= 0, got \(reinitLayers)") }
        if metricForBest != nil && validation == nil { throw ElectraError("--metric-for-best needs --validation (the data it is measured on)") }
        if resume && overwriteOutput { throw ElectraError("pass either --resume or --overwrite-output, not both") }
        return o
    }

    /// The options of the other tasks: refused rather than ignored.
    func refuseOtherTasksOptions(_ task: ElectraTask) throws {
        let seq = task == .sequenceClassification, ner = task == .tokenClassification, qa = task == .questionAnswering
        try refuseOptions([
            ("--tag-column", tagColumn != nil && !ner), ("--label-all-subwords", labelAllSubwords && !ner),
            ("--version-2-with-negative", version2WithNegative && !qa), ("--doc-stride", docStride != nil && !qa),
            ("--max-answer-length", maxAnswerLength != nil && !qa),
            ("--text-column", columns.textColumn != nil && !seq), ("--pair-column", columns.pairColumn != nil && !seq),
            ("--label-column", columns.labelColumn != nil && !seq), ("--no-header", !columns.header && !seq),
            ("--num-labels", numLabels != nil && !seq),
        ], on: "--task \(task.rawValue)")
    }

    /// --reinit-layers, applied right after loading (before anything is written).
    func reinitialize<M: ElectraHeadModel>(_ model: M) throws {
        guard reinitLayers > 0 else { return }
        do {
            try model.reinitializeTopLayers(reinitLayers, seed: seed &+ 1)
        } catch let e as ElectraError {
            throw ElectraError("--reinit-layers: \(e.message)")
        }
        FileHandle.standardError.write(Data("note: re-initialised the top \(reinitLayers) of \(model.config.numHiddenLayers) encoder layers\n".utf8))
    }

    func run() throws {
        try runReportingErrors {
            try ThreadOption.apply(threads)
            let group = try distributedOptions.join()
            guard let chosen = ElectraTask(rawValue: task) else {
                throw ElectraError("unknown --task '\(task)'; one of \(ElectraTask.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard [.sequenceClassification, .tokenClassification, .multipleChoice, .questionAnswering].contains(chosen) else {
                throw ElectraError("finetune trains --task sequence-classification, token-classification, question-answering or multiple-choice (\(chosen.rawValue) has no pipeline)")
            }
            let o = try options()
            try refuseOtherTasksOptions(chosen)
            let out = URL(fileURLWithPath: output)
            let modelDir = try ModelArgument.folder(model, option: "--model")
            let tokDir = try tokenizer.map { try ModelArgument.folder($0, option: "--tokenizer") } ?? modelDir
            let trainURL = URL(fileURLWithPath: train)
            let valURL = validation.map { URL(fileURLWithPath: $0) }
            let inputs = [("--model", modelDir), ("--tokenizer", tokDir), ("--train", trainURL)] + (valURL.map { [("--validation", $0)] } ?? [])
            let layoutFiles = [(folder: "", extraFiles: TokenizerFiles.names)]
            try DistributedJob.rootFirst(group) {
                try RunOutput.check(out, inputs: inputs, mode: resume ? .resume : overwriteOutput ? .overwrite : .fresh, models: layoutFiles)
            }

            // Every input is read before anything in the output folder changes.
            if chosen == .tokenClassification {
                return try TokenClassificationCLI.finetune(self, options: o, out: out, modelDir: modelDir, tokDir: tokDir)
            }
            if chosen == .multipleChoice {
                return try MultipleChoiceCLI.finetune(self, options: o, out: out, modelDir: modelDir, tokDir: tokDir)
            }
            if chosen == .questionAnswering {
                return try QuestionAnsweringCLI.finetune(self, options: o, out: out, modelDir: modelDir, tokDir: tokDir)
            }
            let (tok, tokFiles) = try TokenizerFiles.load(tokDir, hint: "pass --tokenizer DIR")
            let layout = try columns.layout()
            let (trainRows, lay) = try ClassificationTSV.read(trainURL, layout: layout)
            let valRows = try valURL.map { try ClassificationTSV.read($0, layout: layout ?? lay).examples }
            let base = try ElectraConfig.load(from: try ModelFolder.configURL(modelDir))
            let maxLength = try checkedMaxLength(self.maxLength ?? 128, config: base)
            let setup = try SequenceClassificationSetup(base: base, train: trainRows, file: trainURL.lastPathComponent, numLabels: numLabels,
                                                        dropout: dropout, layout: layout == nil ? lay.taskName : nil)
            if setup.inferredRegression {
                FileHandle.standardError.write(Data("note: the labels are numbers, not all whole: training a regression (one output, mean squared error), as run_glue does for a float label column; --num-labels N classifies them instead\n".utf8))
            }
            let (m, report) = try ElectraForSequenceClassification.load(config: setup.config, weights: try CheckpointWeights.open(modelDir), seed: seed)
            for w in report.warnings { FileHandle.standardError.write(Data("note: \(w)\n".utf8)) }
            try reinitialize(m)
            let trainSet = try EncodedClassificationSet(trainRows, file: trainURL.lastPathComponent, tokenizer: tok, maxLength: maxLength,
                                                        labelIds: setup.labelIds, regression: setup.isRegression)
            let valSet = try valRows.map { try EncodedClassificationSet($0, file: valURL!.lastPathComponent, tokenizer: tok, maxLength: maxLength,
                                                                        labelIds: setup.labelIds, regression: setup.isRegression) }
            let job = SequenceClassificationTask(model: m, train: trainSet, validation: valSet, padId: tok.padTokenId, extraFiles: tokFiles,
                                                 evalBatchSize: max(batchSize, 64),
                                                 fingerprint: ["train_file": trainURL.lastPathComponent, "max_length": "\(maxLength)"])
            let trainer = try Trainer(task: job, options: o, output: out, group: DistributedJob.group)
            if overwriteOutput, DistributedJob.group.isRoot { try RunOutput.clearPreviousRun(out, models: layoutFiles) }
            let labels = setup.isRegression ? "a regression (one output)"
                : "labels: " + setup.config.id2label.sorted { $0.key < $1.key }.map(\.value).joined(separator: ", ")
            FileHandle.standardError.write(Data("fine-tuning on \(trainSet.count) examples (\(trainSet.tokenCount) tokens), \(trainer.totalSteps) steps of \(batchSize); \(labels)\n".utf8))
            let s = try trainer.run(resume: resume)
            let metrics = s.metrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", ")
            print("done: \(s.steps) steps in \(String(format: "%.1f", s.seconds)) s, last loss \(String(format: "%.4f", s.finalLoss)); validation: \(metrics.isEmpty ? "none" : metrics)")
            if let best = s.bestCheckpoint, let v = s.bestMetric {
                print("best: \(best) (\(metricForBest!) \(String(format: "%.4f", v)))\(s.stoppedEarly ? ", stopped early" : ""); the output model is its weights")
            }
            print("model: \(out.appendingPathComponent("model.safetensors").path); log: metrics.jsonl; plot: training.svg")
        }
    }
}
