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
            return nil
        }
        guard let l = labelColumn else { throw ElectraError("--text-column needs --label-column") }
        return TSVLayout(textColumn: t, pairColumn: pairColumn, labelColumn: l, hasHeader: header)
    }
}

enum TokenizerFiles {
    static let names = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]

    /// The tokenizer files present in `dir`.
    static func present(in dir: URL) -> [URL] {
        names.map { dir.appendingPathComponent($0) }.filter { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// A fine-tuned classifier folder: the model and its tokenizer.
    static func loadClassifier(_ path: String) throws -> (ElectraForSequenceClassification, ElectraTokenizer) {
        let dir = URL(fileURLWithPath: path)
        let (model, _) = try ElectraForSequenceClassification.load(from: dir)
        return (model, try load(dir).0)
    }

    static func load(_ dir: URL) throws -> (ElectraTokenizer, [URL]) {
        let files = present(in: dir)
        guard !files.isEmpty else {
            throw ElectraError("no tokenizer in \(dir.path) (expected tokenizer.json or vocab.txt); pass --tokenizer DIR")
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
        abstract: "Fine-tune a sequence classifier on GLUE-style TSV files (original ELECTRA recipe by default).")

    @Option(help: "Model folder to start from (config.json + weights; tokenizer files unless --tokenizer).")
    var model: String
    @Option(help: "Task (only sequence-classification for now).")
    var task = "sequence-classification"
    @Option(help: "Training TSV.") var train: String
    @Option(help: "Validation TSV.") var validation: String?
    @Option(help: "Output folder.") var output: String
    @Option(help: "Tokenizer folder (default: the model folder).") var tokenizer: String?
    @OptionGroup var columns: ColumnOptions
    @Option(help: "1 for regression (float labels); default: the number of distinct training labels.")
    var numLabels: Int?

    @Option(help: "Peak learning rate.") var learningRate: Float = 1e-4
    @Option(help: "Layer-wise LR decay (1.0 = off).") var layerwiseLrDecay: Double = 0.8
    @Option(help: "Epochs.") var epochs = 3
    @Option(help: "Warmup fraction of all steps.") var warmup: Double = 0.1
    @Option(help: "Decoupled weight decay (not on biases and LayerNorm).") var weightDecay: Float = 0.01
    @Option(help: "Batch size (per micro-batch).") var batchSize = 32
    @Option(help: "Micro-batches accumulated into one optimizer step.") var gradientAccumulationSteps = 1
    @Option(help: "Max tokens per example (longest_first truncation).") var maxLength = 128
    @Option(help: "adamw (PyTorch) or electra (original AdamWeightDecay, no bias correction).") var optimizer = "electra"
    @Option(help: "Adam epsilon.") var adamEpsilon: Float = 1e-6
    @Option(help: "Global gradient-norm clip.") var maxGradNorm: Float = 1.0
    @Option(help: "electra (warmup x linear decay), linear (HF), constant.") var lrSchedule = "electra"
    @Option(help: "Seed for shuffling, dropout and new head weights.") var seed: UInt64 = 42
    @Flag(help: "Batches are consecutive rows in file order.") var noShuffle = false
    @Option(help: "Override every dropout probability of the config.") var dropout: Float?
    @Option(help: "Stop after N optimizer steps.") var maxSteps: Int?
    @Option(help: "Validate every N steps (0: each epoch).") var evalSteps = 0
    @Option(help: "Checkpoint every N steps (0: each epoch).") var saveSteps = 0
    @Flag(help: "Replace an existing output folder.") var overwriteOutput = false
    @Flag(help: "Continue from the latest checkpoint in the output folder.") var resume = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threads = threads }
            guard task == "sequence-classification" else {
                throw ElectraError("finetune supports --task sequence-classification in this build (got '\(task)')")
            }
            let out = URL(fileURLWithPath: output)
            if FileManager.default.fileExists(atPath: out.path) && !resume && !overwriteOutput {
                throw ElectraError("output folder \(out.path) exists; pass --overwrite-output to replace it or --resume to continue")
            }
            if overwriteOutput && !resume { try? FileManager.default.removeItem(at: out) }
            var o = FineTuneOptions()
            o.learningRate = learningRate; o.layerwiseDecay = layerwiseLrDecay; o.epochs = epochs
            o.warmupFraction = warmup; o.weightDecay = weightDecay; o.batchSize = batchSize; o.maxLength = maxLength
            o.gradientAccumulation = gradientAccumulationSteps
            guard let opt = FineTuneOptions.OptimizerKind(rawValue: optimizer) else { throw ElectraError("--optimizer must be adamw or electra") }
            guard let sched = FineTuneOptions.ScheduleKind(rawValue: lrSchedule) else { throw ElectraError("--lr-schedule must be electra, linear or constant") }
            o.optimizer = opt; o.schedule = sched; o.adamEpsilon = adamEpsilon; o.maxGradNorm = maxGradNorm
            o.seed = seed; o.shuffle = !noShuffle; o.dropout = dropout; o.maxSteps = maxSteps
            o.evalSteps = evalSteps; o.saveSteps = saveSteps
            guard batchSize > 0, epochs > 0, maxLength > 2, gradientAccumulationSteps > 0 else {
                throw ElectraError("--batch-size, --epochs and --gradient-accumulation-steps must be positive, --max-length above 2")
            }

            let modelDir = URL(fileURLWithPath: model)
            let (tok, tokFiles) = try TokenizerFiles.load(tokenizer.map { URL(fileURLWithPath: $0) } ?? modelDir)
            let layout = try columns.layout()
            let trainURL = URL(fileURLWithPath: train)
            let (trainRows, lay) = try ClassificationTSV.read(trainURL, layout: layout)
            let valRows = try validation.map { try ClassificationTSV.read(URL(fileURLWithPath: $0), layout: layout ?? lay).examples }

            var config = try ElectraConfig.load(from: try ModelFolder.configURL(modelDir))
            let regression = numLabels == 1
            var labelIds: [String: Int] = [:]
            if regression {
                config.setNumLabels(1)
                config.problemType = .regression
            } else {
                let names = ClassificationTSV.labelNames(trainRows)
                guard names.count >= 2 else {
                    throw ElectraError("\(trainURL.lastPathComponent) has only one distinct label ('\(names[0])'); classification needs at least 2 (--num-labels 1 trains a regression on numeric labels)")
                }
                if let n = numLabels, n != names.count {
                    throw ElectraError("--num-labels \(n) but the training file has \(names.count) distinct labels (\(names.joined(separator: ", ")))")
                }
                config.id2label = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.offset, $0.element) })
                config.label2id = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
                config.problemType = .singleLabel
                labelIds = config.label2id
            }
            if let d = dropout {
                config.hiddenDropoutProb = d; config.attentionProbsDropoutProb = d; config.classifierDropout = d
                config.summaryLastDropout = d
            }
            if maxLength > config.maxPositionEmbeddings {
                throw ElectraError("--max-length \(maxLength) exceeds the model's max_position_embeddings (\(config.maxPositionEmbeddings))")
            }
            let (m, report) = try ElectraForSequenceClassification.load(config: config, weights: try CheckpointWeights.open(modelDir), seed: seed)
            for w in report.warnings { FileHandle.standardError.write(Data("note: \(w)\n".utf8)) }
            let trainSet = try EncodedClassificationSet(trainRows, file: trainURL.lastPathComponent, tokenizer: tok, maxLength: maxLength, labelIds: labelIds, regression: regression)
            let valSet = try valRows.map { try EncodedClassificationSet($0, file: URL(fileURLWithPath: validation!).lastPathComponent, tokenizer: tok, maxLength: maxLength, labelIds: labelIds, regression: regression) }
            let tuner = try SequenceClassificationFineTuner(model: m, train: trainSet, validation: valSet, options: o, output: out,
                                                            extraFiles: tokFiles, padId: tok.padTokenId)
            FileHandle.standardError.write(Data("fine-tuning on \(trainSet.count) examples (\(trainSet.tokenCount) tokens), \(tuner.totalSteps) steps of \(batchSize); labels: \(config.id2label.sorted { $0.key < $1.key }.map(\.value).joined(separator: ", "))\n".utf8))
            let s = try tuner.run(resume: resume)
            let metrics = s.metrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", ")
            print("done: \(s.steps) steps in \(String(format: "%.1f", s.seconds)) s, last loss \(String(format: "%.4f", s.finalLoss)); validation: \(metrics.isEmpty ? "none" : metrics)")
            print("model: \(out.appendingPathComponent("model.safetensors").path); log: metrics.jsonl; plot: training.svg")
        }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accuracy / F1 / Matthews (or Pearson / Spearman) of a fine-tuned classifier on a TSV file.")
    @Option(help: "Fine-tuned model folder (with tokenizer files).") var model: String
    @Option(help: "TSV file with labels.") var data: String
    @OptionGroup var columns: ColumnOptions
    @Option(help: "Max tokens per example.") var maxLength = 128
    @Option(help: "Batch size.") var batchSize = 64

    func run() throws {
        try runReportingErrors {
            let (m, tok) = try TokenizerFiles.loadClassifier(model)
            let (rows, _) = try ClassificationTSV.read(URL(fileURLWithPath: data), layout: try columns.layout())
            let set = try EncodedClassificationSet(rows, file: URL(fileURLWithPath: data).lastPathComponent, tokenizer: tok,
                                                   maxLength: min(maxLength, m.config.maxPositionEmbeddings),
                                                   labelIds: m.config.label2id, regression: m.config.numLabels == 1)
            let r = try ClassificationEvaluation.run(m, set, batchSize: batchSize, padId: tok.padTokenId)
            let obj = JSONValue.object(r.metrics.mapValues { .number($0) }.merging(["examples": .number(Double(set.count))]) { a, _ in a })
            print(String(decoding: try obj.serialized(pretty: false), as: UTF8.self))
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Label text (or a text pair) with a fine-tuned classifier.")
    @Option(help: "Fine-tuned model folder (with tokenizer files).") var model: String
    @Option(help: "A file of lines to label (a pair per line as A<TAB>B).") var file: String?
    @Argument(help: "Text, and optionally the second text of a pair.") var texts: [String] = []
    @Option(help: "Max tokens per example.") var maxLength = 128

    func run() throws {
        try runReportingErrors {
            let (m, loaded) = try TokenizerFiles.loadClassifier(model)
            let tok = loaded.forClassification(maxLength: min(maxLength, m.config.maxPositionEmbeddings))
            var items: [(String, String?)] = []
            if let file {
                guard let text = try? String(contentsOf: URL(fileURLWithPath: file), encoding: .utf8) else {
                    throw ElectraError("cannot read \(file) as UTF-8 text")
                }
                items = text.split(separator: "\n").map { line in
                    let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : nil)
                }
            } else {
                guard (1...2).contains(texts.count) else { throw ElectraError("give one text, a text pair, or --file") }
                items = [(texts[0], texts.count > 1 ? texts[1] : nil)]
            }
            // One forward per item: with many, the [in, out] weight copy (built once, a pass over
            // the encoder's weights) pays for itself (InferenceLayout.swift).
            if items.count >= 32 { m.setInferenceWeightLayout(true) }
            for (a, b) in items {
                let e = try tok.encode(a, pair: b)
                let inputs = ElectraInputs(inputIds: IntTensor(shape: [1, e.ids.count], values: e.ids),
                                           tokenTypeIds: IntTensor(shape: [1, e.ids.count], values: e.typeIds))
                let logits = try m(inputs).logits!.scalars
                if m.config.numLabels == 1 {
                    print(String(format: "%.4f", logits[0]))
                    continue
                }
                let mx = logits.max()!
                let ex = logits.map { Foundation.exp($0 - mx) }
                let z = ex.reduce(0, +)
                let probs = ex.map { $0 / z }
                let best = probs.indices.max { probs[$0] < probs[$1] }!
                let all = probs.indices.map { "\(m.config.id2label[$0] ?? "\($0)"): \(String(format: "%.4f", probs[$0]))" }.joined(separator: ", ")
                print("\(m.config.id2label[best] ?? "\(best)")\t\(all)")
            }
        }
    }
}
