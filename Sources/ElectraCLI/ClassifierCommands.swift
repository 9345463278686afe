import ArgumentParser
import Electra
import ElectraPipelines
import ElectraTokenizers
import ElectraTraining
import Foundation

/// The question-answering options evaluate and predict share. Unset values take the defaults
/// of the path they feed: SQuAD evaluation's (stride 128, answers up to 30 tokens) for files,
/// HF pipeline()'s (stride min(max length / 2, 128), answers up to 15 tokens) for --question.
struct QAOptions: ParsableArguments {
    @Flag(name: .customLong("version-2-with-negative"), inversion: .prefixedNo, help: "Question answering: SQuAD 2.0 (default: what the model folder recorded).") var version2: Bool?
    @Option(help: "Question answering: overlap between context windows, in tokens (default: 128 for files, HF's min(max length / 2, 128) for --question).") var docStride: Int?
    @Option(help: "Question answering: longest answer, in tokens (default: 30 for files, HF's 15 for --question).") var maxAnswerLength: Int?
    @Option(help: "Question answering (2.0), files: answer \"\" when the null score beats the best span by more than this (default 0).") var nullScoreDiffThreshold: Double?
    @Flag(help: "Question answering with --question: offer the empty answer too (HF handle_impossible_answer).") var handleImpossibleAnswer = false

    func settings(maxLength: Int?, batchSize: Int) throws -> QuestionAnsweringCLI.Settings {
        let (stride, longest) = try QuestionAnsweringCLI.checkedWindowing(docStride: docStride ?? 128, maxAnswerLength: maxAnswerLength ?? 30)
        return .init(maxLength: maxLength, docStride: stride, maxAnswerLength: longest, batchSize: batchSize,
                     version2: version2, nullThreshold: nullScoreDiffThreshold ?? 0)
    }

    /// The library pipeline's settings for one question (HF's defaults where unset).
    func pipelineSettings(maxLength: Int?, topK: Int?) throws -> QuestionAnsweringPipeline.Settings {
        var s = QuestionAnsweringPipeline.Settings()
        if let topK { s.topK = topK }
        _ = try QuestionAnsweringCLI.checkedWindowing(docStride: docStride ?? 0, maxAnswerLength: maxAnswerLength ?? 1)  // the given ones
        if let maxAnswerLength { s.maxAnswerLength = maxAnswerLength }
        if let docStride { s.docStride = docStride }
        s.maxSeqLength = maxLength
        s.handleImpossibleAnswer = handleImpossibleAnswer
        return s
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accuracy / F1 / Matthews (or Pearson / Spearman) of a fine-tuned classifier on a TSV file, as one JSON object.")
    @Option(help: "Fine-tuned model folder (with tokenizer files).") var model: String
    @Option(help: "TSV file with labels (CoNLL file for token classification).") var data: String
    @Option(help: "sequence-classification, token-classification, question-answering or multiple-choice (default: from the model's config).") var task: String?
    @OptionGroup var columns: ColumnOptions
    @Option(help: "Token classification: 0-based column of the tag (default: the last).") var tagColumn: Int?
    @Flag(help: "Token classification: one JSON object with seqeval's keys instead of a table.") var json = false
    @OptionGroup var qa: QAOptions
    @Option(help: "Max tokens per example (default: min(128, max_position_embeddings); question answering: min(384, positions)).") var maxLength: Int?
    @Option(help: "Batch size.") var batchSize = 64
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            let inferenceDType = try running.apply()
            guard batchSize > 0 else { throw ElectraError("--batch-size must be positive, got \(batchSize)") }
            let modelDir = try ModelArgument.folder(model, option: "--model")
            let model = modelDir.path
            let chosen = try resolvedTask(task, model: modelDir)
            let reads: Set<String> = switch chosen {
            case .tokenClassification: ["--tag-column", "--json"]
            case .questionAnswering: ["--version-2-with-negative", "--doc-stride", "--max-answer-length", "--null-score-diff-threshold"]
            case .multipleChoice: []
            default: ["--text-column", "--pair-column", "--label-column", "--no-header"]
            }
            try refuseOptions([
                ("--tag-column", tagColumn != nil), ("--json", json), ("--version-2-with-negative", qa.version2 != nil),
                ("--doc-stride", qa.docStride != nil), ("--max-answer-length", qa.maxAnswerLength != nil),
                ("--null-score-diff-threshold", qa.nullScoreDiffThreshold != nil), ("--handle-impossible-answer", qa.handleImpossibleAnswer),
                ("--text-column", columns.textColumn != nil), ("--pair-column", columns.pairColumn != nil),
                ("--label-column", columns.labelColumn != nil), ("--no-header", !columns.header),
            ], reading: reads, on: "evaluating --task \(chosen.rawValue)")
            switch chosen {
            case .tokenClassification:
                return try TokenClassificationCLI.evaluate(model: model, data: data, tagColumn: tagColumn, maxLength: maxLength, batchSize: batchSize, json: json)
            case .multipleChoice:
                return try MultipleChoiceCLI.evaluate(model: model, data: data, maxLength: maxLength, batchSize: batchSize)
            case .questionAnswering:
                return try QuestionAnsweringCLI.evaluate(model: model, data: data, try qa.settings(maxLength: maxLength, batchSize: batchSize))
            default: break
            }
            let (m, tok) = try TokenizerFiles.loadClassifier(model)
            m.setInferenceDType(inferenceDType)
            let length = try checkedMaxLength(maxLength, config: m.config)
            let explicit = try columns.layout()
            let url = URL(fileURLWithPath: data)
            let (rows, layout) = try ClassificationTSV.read(url, layout: explicit)
            // A model fine-tuned here records the data layout it learned from; another task's
            // data (SST-2's model on MRPC pairs) is refused unless the columns are given.
            if explicit == nil, let trained = m.config.extra["finetuning_task"]?.stringValue, trained != layout.taskName {
                throw ElectraError("\(model) was fine-tuned on \(trained) data but \(url.lastPathComponent) looks like \(layout.taskName); evaluate on data of the same task, or give --text-column/--label-column to use this file anyway")
            }
            let set = try EncodedClassificationSet(rows, file: url.lastPathComponent, tokenizer: tok, maxLength: length,
                                                   labelIds: m.config.label2id, regression: m.config.numLabels == 1)
            let r = try ClassificationEvaluation.run(m, set, batchSize: batchSize, padId: tok.padTokenId)
            guard r.metrics.values.allSatisfy(\.isFinite) || r.metrics["loss"]?.isFinite == true else {
                throw ElectraError("\(model) produces non-finite outputs (NaN or inf): its weights are broken")
            }
            let obj = JSONValue.object(r.metrics.mapValues { .number($0) }.merging(["examples": .number(Double(set.count))]) { a, _ in a })
            print(String(decoding: try obj.serialized(pretty: false), as: UTF8.self))
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Label text (or a text pair) with a fine-tuned classifier; tag entities; answer a question.",
        discussion: "--json prints what HF's pipeline() returns for the same input and options (text-classification, token-classification, question-answering): one value per text, or per line of --file.")
    @Option(help: "Fine-tuned model folder (with tokenizer files).") var model: String
    @Option(help: "sequence-classification, token-classification, question-answering or multiple-choice (default: from the model's config).") var task: String?
    @Option(help: "Token classification: a CoNLL file to tag (with --output). Question answering: a SQuAD JSON file (with --output).") var input: String?
    @Option(help: "Where the tagged CoNLL file (or the SQuAD predictions) go.") var output: String?
    @Option(help: "Token classification: 0-based tag column of --input (default: the last).") var tagColumn: Int?
    @Option(help: "Token classification of text: none (one entity per token, HF's default), simple, first, average or max (HF aggregation_strategy).") var aggregationStrategy: String?
    @Option(help: "Token classification of text: a label to leave out (repeat for several; default O). --ignore-label '' keeps all.") var ignoreLabel: [String] = []
    @Option(help: "Token classification of text: read long texts in windows overlapping by this many tokens (HF stride; not with aggregation none).") var stride: Int?
    @Option(help: "Sequence classification: labels to show per text, or all (default: the best one, as HF without top_k). Question answering with --question: answers (default 1).") var topK: String?
    @Option(help: "Sequence classification: softmax, sigmoid or none (default: as HF chooses from the config).") var functionToApply: String?
    @OptionGroup var qa: QAOptions
    @Option(help: "Question answering: where the null odds go (SQuAD 2.0's evaluation reads them).") var nullOdds: String?
    @Option(help: "Question answering: one question (with --context).") var question: String?
    @Option(help: "Question answering: the context of --question.") var context: String?
    @Option(help: "A file of lines to label (a pair per line as A<TAB>B); - reads standard input.") var file: String?
    @Argument(help: "Text, and optionally the second text of a pair.") var texts: [String] = []
    @Option(help: "Max tokens per example; sequence classification cuts texts to it (default: the model's positions, longer texts refused unless --truncation); question answering: tokens per window (default min(384, positions)).") var maxLength: Int?
    @Flag(help: "Sequence classification: cut texts longer than the model's positions instead of refusing them (HF truncation=True).") var truncation = false
    @Option(help: "Lines run together in one forward pass.") var batchSize = 32
    @Flag(help: "HF pipeline() JSON, one value per text or line.") var json = false
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            let dtype = try running.apply()
            let options = try running.pipelineOptions(dtype, batchSize: batchSize)
            let dir = try ModelArgument.folder(model, option: "--model")
            let resolved = try resolvedTask(task, model: dir)
            let k: Int? = try topK.flatMap { v -> Int? in
                if v == "all" && resolved == .sequenceClassification { return nil }
                guard let k = Int(v), k > 0 else { throw ElectraError("--top-k must be a positive number\(resolved == .sequenceClassification ? " or all" : ""), got '\(v)'") }
                return k
            }
            if (question == nil) != (context == nil) { throw ElectraError(question == nil ? "--context needs --question" : "--question needs --context") }
            let path: (reads: Set<String>, name: String) = switch resolved {
            case .questionAnswering where question != nil:
                (["--question", "--context", "--doc-stride", "--max-answer-length", "--handle-impossible-answer", "--max-length", "--top-k", "--json"], "answering --question")
            case .questionAnswering:
                (["--input", "--output", "--null-odds", "--version-2-with-negative", "--doc-stride", "--max-answer-length", "--null-score-diff-threshold", "--max-length"],
                 "question answering of a SQuAD file (--input)")
            case .multipleChoice: (["--file", "--input", "--output", "--max-length"], "multiple choice")
            case .tokenClassification where input != nil: (["--input", "--output", "--tag-column", "--max-length"], "tagging a CoNLL file (--input)")
            case .tokenClassification:
                (["--file", "text arguments", "--aggregation-strategy", "--ignore-label", "--stride", "--json"],
                 "token classification of text (windows of the model's positions; --stride reads long texts)")
            default: (["--file", "text arguments", "--top-k", "--function-to-apply", "--max-length", "--truncation", "--json"], "sequence classification")
            }
            try refuseOptions([
                ("--input", input != nil), ("--output", output != nil), ("--tag-column", tagColumn != nil),
                ("--aggregation-strategy", aggregationStrategy != nil), ("--ignore-label", !ignoreLabel.isEmpty), ("--stride", stride != nil),
                ("--top-k", topK != nil), ("--function-to-apply", functionToApply != nil), ("--version-2-with-negative", qa.version2 != nil),
                ("--doc-stride", qa.docStride != nil), ("--max-answer-length", qa.maxAnswerLength != nil),
                ("--null-score-diff-threshold", qa.nullScoreDiffThreshold != nil), ("--handle-impossible-answer", qa.handleImpossibleAnswer),
                ("--null-odds", nullOdds != nil), ("--question", question != nil), ("--context", context != nil), ("--file", file != nil),
                ("text arguments", !texts.isEmpty), ("--max-length", maxLength != nil), ("--truncation", truncation), ("--json", json),
            ], reading: path.reads, on: path.name)
            if resolved == .questionAnswering {
                if let question, let context {
                    let p = try QuestionAnsweringPipeline(folder: dir, options: options)
                    let answers = try p(question: question, context: context, settings: try qa.pipelineSettings(maxLength: maxLength, topK: k))
                    print(json ? QuestionAnsweringPipeline.json([answers], singleInput: true).serialized
                               : answers.map { String(format: "%@\t%.4f\t[%d, %d)", $0.answer, $0.score, $0.start, $0.end) }.joined(separator: "\n"))
                    return
                }
                return try QuestionAnsweringCLI.predict(model: dir.path, input: input, output: output, nullOdds: nullOdds,
                                                        try qa.settings(maxLength: maxLength, batchSize: batchSize))
            }
            if resolved == .multipleChoice {
                guard let f = file ?? input else { throw ElectraError("--task multiple-choice predicts the rows of --file F (JSON lines or SWAG CSV)") }
                if file != nil && input != nil { throw ElectraError("give --file or --input, not both") }
                return try MultipleChoiceCLI.predict(model: dir.path, file: f, output: output, maxLength: maxLength, batchSize: batchSize)
            }
            if resolved == .tokenClassification {
                if let input {
                    guard let output else { throw ElectraError("--input needs --output (the tagged CoNLL file)") }
                    return try TokenClassificationCLI.predictFile(model: dir.path, input: input, output: output, tagColumn: tagColumn, maxLength: maxLength, batchSize: batchSize)
                }
                if output != nil { throw ElectraError("--output needs --input (the CoNLL file to tag); entities of text go to standard output") }
                if file != nil && !texts.isEmpty { throw ElectraError("give texts or --file, not both") }
                let lines = try file.map { try TextInput.lines($0).map(String.init) } ?? texts
                guard !lines.isEmpty else { throw ElectraError("give a text, --file, or --input FILE --output FILE") }
                guard let strategy = AggregationStrategy(rawValue: aggregationStrategy ?? "none") else {
                    throw ElectraError("--aggregation-strategy must be one of \(AggregationStrategy.allCases.map(\.rawValue).joined(separator: ", ")), got '\(aggregationStrategy ?? "")'")
                }
                let p = try TokenClassificationPipeline(folder: dir, options: options)
                let ignore = ignoreLabel.isEmpty ? ["O"] : ignoreLabel.filter { !$0.isEmpty }
                let results = try p(lines, aggregation: strategy, ignoreLabels: ignore, stride: stride)
                for (text, entities) in zip(lines, results) {
                    print(json ? TokenClassificationPipeline.json([entities], singleInput: true).serialized : TokenClassificationCLI.table(text, entities))
                }
                return
            }
            var items: [TextClassificationPipeline.Input]
            if let file {
                guard texts.isEmpty else { throw ElectraError("give texts or --file, not both") }
                items = try TextInput.lines(file).map { line in
                    let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                    return .init(String(parts[0]), pair: parts.count > 1 ? String(parts[1]) : nil)
                }
                guard !items.isEmpty else { throw ElectraError("\(file == "-" ? "standard input" : file) has no lines to label") }
            } else {
                guard (1...2).contains(texts.count) else { throw ElectraError("give one text, a text pair, or --file") }
                items = [.init(texts[0], pair: texts.count > 1 ? texts[1] : nil)]
            }
            let f = try functionToApply.map { v -> TextClassificationPipeline.Function in
                guard let f = TextClassificationPipeline.Function(rawValue: v) else { throw ElectraError("--function-to-apply must be softmax, sigmoid or none, got '\(v)'") }
                return f
            }
            let labelCount: Int? = topK == nil ? 1 : k
            if let maxLength { _ = try checkedMaxLength(maxLength, config: try ElectraConfig.load(from: try ModelFolder.configURL(dir))) }
            let p = try TextClassificationPipeline(folder: dir, options: options)
            // Many batches: the [in, out] weight copy (built once, a pass over the encoder's
            // weights) pays for itself (InferenceLayout.swift).
            if items.count >= 32 { p.model.setInferenceWeightLayout(true) }
            let results = try p(items, topK: labelCount, function: f, truncation: truncation || maxLength != nil, maxLength: maxLength)
            for (item, r) in zip(items, results) {
                if json {
                    print(TextClassificationPipeline.json([r], singleInput: true, topKGiven: topK != nil, pairInput: item.pair != nil).serialized)
                } else {
                    print(r.map { String(format: "%@\t%.4f", $0.label, $0.score) }.joined(separator: "\t"))
                }
            }
        }
    }
}

/// `--task` as given, or (when absent) the task the model folder's config names (sequence
/// classification when it names another head or none).
func resolvedTask(_ task: String?, model: URL) throws -> ElectraTask {
    let supported: [ElectraTask] = [.sequenceClassification, .tokenClassification, .multipleChoice, .questionAnswering]
    if let task {
        guard let t = ElectraTask(rawValue: task), supported.contains(t) else {
            throw ElectraError("--task must be one of \(supported.map(\.rawValue).joined(separator: ", ")), got '\(task)'")
        }
        return t
    }
    let url = model.appendingPathComponent("config.json")
    guard let config = try? ElectraConfig.load(from: url), let t = try? ElectraTask.fromConfig(config), supported.contains(t) else {
        return .sequenceClassification
    }
    return t
}
