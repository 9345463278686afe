import ArgumentParser
import Electra
import ElectraTokenizers
import ElectraTraining
import Foundation

/// The question-answering options evaluate and predict share.
struct QAOptions: ParsableArguments {
    @Flag(name: .customLong("version-2-with-negative"), inversion: .prefixedNo, help: "Question answering: SQuAD 2.0 (default: what the model folder recorded).") var version2: Bool?
    @Option(help: "Question answering: overlap between context windows.") var docStride = 128
    @Option(help: "Question answering: longest answer, in tokens.") var maxAnswerLength = 30
    @Option(help: "Question answering (2.0): answer \"\" when the null score beats the best span by more than this.") var nullScoreDiffThreshold = 0.0

    func settings(maxLength: Int?, batchSize: Int) -> QuestionAnsweringCLI.Settings {
        .init(maxLength: maxLength, docStride: docStride, maxAnswerLength: maxAnswerLength, batchSize: batchSize, version2: version2, nullThreshold: nullScoreDiffThreshold)
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accuracy / F1 / Matthews (or Pearson / Spearman) of a fine-tuned classifier on a TSV file, as one JSON object.")
    @Option(help: "Fine-tuned model folder (with tokenizer files).") var model: String
    @Option(help: "TSV file with labels (CoNLL file for token classification).") var data: String
    @Option(help: "sequence-classification, token-classification or multiple-choice (default: from the model's config).") var task: String?
    @OptionGroup var columns: ColumnOptions
    @Option(help: "Token classification: 0-based column of the tag (default: the last).") var tagColumn: Int?
    @Flag(help: "Token classification: one JSON object with seqeval's keys instead of a table.") var json = false
    @OptionGroup var qa: QAOptions
    @Option(help: "Max tokens per example (default: min(128, max_position_embeddings)).") var maxLength: Int?
    @Option(help: "Batch size.") var batchSize = 64
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            let inferenceDType = try running.apply()
            guard batchSize > 0 else { throw ElectraError("--batch-size must be positive, got \(batchSize)") }
            switch try resolvedTask(task, model: model) {
            case .tokenClassification:
                return try TokenClassificationCLI.evaluate(model: model, data: data, tagColumn: tagColumn, maxLength: maxLength, batchSize: batchSize, json: json)
            case .multipleChoice:
                return try MultipleChoiceCLI.evaluate(model: model, data: data, maxLength: maxLength, batchSize: batchSize)
            case .questionAnswering:
                return try QuestionAnsweringCLI.evaluate(model: model, data: data, qa.settings(maxLength: maxLength, batchSize: batchSize))
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
    static let configuration = CommandConfiguration(abstract: "Label text (or a text pair) with a fine-tuned classifier.")
    @Option(help: "Fine-tuned model folder (with tokenizer files).") var model: String
    @Option(help: "sequence-classification, token-classification or multiple-choice (default: from the model's config).") var task: String?
    @Option(help: "Token classification: a CoNLL file to tag (with --output).") var input: String?
    @Option(help: "Token classification: where the tagged CoNLL file goes (the predicted tag appended to each token line).") var output: String?
    @Option(help: "Token classification: 0-based tag column of --input (default: the last).") var tagColumn: Int?
    @OptionGroup var qa: QAOptions
    @Option(help: "Question answering: where the null odds go (SQuAD 2.0's evaluation reads them).") var nullOdds: String?
    @Option(help: "Question answering: one question (with --context).") var question: String?
    @Option(help: "Question answering: the context of --question.") var context: String?
    @Option(help: "A file of lines to label (a pair per line as A<TAB>B); - reads standard input.") var file: String?
    @Argument(help: "Text, and optionally the second text of a pair.") var texts: [String] = []
    @Option(help: "Max tokens per example (default: min(128, max_position_embeddings)).") var maxLength: Int?
    @Option(help: "Lines run together in one forward pass.") var batchSize = 32
    @Flag(help: "One JSON object per line: text, pair, label, probabilities (score for regression).") var json = false
    @OptionGroup var running: RunOptions

    func run() throws {
        try runReportingErrors {
            let inferenceDType = try running.apply()
            guard batchSize > 0 else { throw ElectraError("--batch-size must be positive, got \(batchSize)") }
            let resolved = try resolvedTask(task, model: model)
            if resolved == .questionAnswering {
                return try QuestionAnsweringCLI.predict(model: model, input: input, output: output, nullOdds: nullOdds, question: question,
                                                        context: context, qa.settings(maxLength: maxLength, batchSize: batchSize))
            }
            if resolved == .multipleChoice {
                guard let f = file ?? input else { throw ElectraError("--task multiple-choice predicts the rows of --file F (JSON lines or SWAG CSV)") }
                return try MultipleChoiceCLI.predict(model: model, file: f, maxLength: maxLength, batchSize: batchSize)
            }
            if resolved == .tokenClassification {
                if let input {
                    guard let output else { throw ElectraError("--input needs --output (the tagged CoNLL file)") }
                    return try TokenClassificationCLI.predictFile(model: model, input: input, output: output, tagColumn: tagColumn, maxLength: maxLength, batchSize: batchSize)
                }
                let lines = try file.map { try TextInput.lines($0).map(String.init) } ?? texts
                guard !lines.isEmpty else { throw ElectraError("give a text, --file, or --input FILE --output FILE") }
                return try TokenClassificationCLI.predictText(model: model, texts: lines, maxLength: maxLength, json: json)
            }
            guard input == nil && output == nil else { throw ElectraError("--input/--output are for --task token-classification") }
            var items: [(String, String?)]
            if let file {
                guard texts.isEmpty else { throw ElectraError("give texts or --file, not both") }
                items = try TextInput.lines(file).map { line in
                    let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : nil)
                }
                guard !items.isEmpty else { throw ElectraError("\(file == "-" ? "standard input" : file) has no lines to label") }
            } else {
                guard (1...2).contains(texts.count) else { throw ElectraError("give one text, a text pair, or --file") }
                items = [(texts[0], texts.count > 1 ? texts[1] : nil)]
            }
            let (m, loaded) = try TokenizerFiles.loadClassifier(model)
            m.setInferenceDType(inferenceDType)
            let tok = loaded.forClassification(maxLength: try checkedMaxLength(maxLength, config: m.config))
            // Many batches: the [in, out] weight copy (built once, a pass over the encoder's
            // weights) pays for itself (InferenceLayout.swift).
            if items.count >= 32 { m.setInferenceWeightLayout(true) }
            var encoded = EncodedClassificationSet(ids: [], typeIds: [], labels: [])
            for (a, b) in items {
                let e = try tok.encode(a, pair: b)
                encoded.ids.append(e.ids)
                encoded.typeIds.append(e.typeIds)
            }
            let C = m.config.numLabels
            var start = 0
            while start < items.count {
                let idx = start..<min(start + batchSize, items.count)
                let logits = try m(encoded.batch(ArraySlice(idx), padId: loaded.padTokenId, withLabels: false)).logits!
                for (row, i) in idx.enumerated() {
                    let r = Array(UnsafeBufferPointer(start: logits.pointer + row * C, count: C))
                    guard r.allSatisfy(\.isFinite) else {
                        throw ElectraError("\(model) produced non-finite logits (NaN or inf) for line \(i + 1): its weights are broken")
                    }
                    print(try format(r, text: items[i], config: m.config))
                }
                start = idx.upperBound
            }
        }
    }

    func format(_ logits: [Float], text: (String, String?), config: ElectraConfig) throws -> String {
        func name(_ c: Int) -> String { config.id2label[c] ?? "\(c)" }
        if config.numLabels == 1 {
            guard json else { return String(format: "%.4f", logits[0]) }
            var o: [String: JSONValue] = ["text": .string(text.0), "score": .number(Double(logits[0]))]
            if let p = text.1 { o["pair"] = .string(p) }
            return String(decoding: try JSONValue.object(o).serialized(pretty: false), as: UTF8.self)
        }
        let mx = logits.max()!
        let ex = logits.map { Foundation.exp($0 - mx) }
        let z = ex.reduce(0, +)
        let probs = ex.map { $0 / z }
        let best = probs.indices.max { probs[$0] < probs[$1] }!
        guard json else {
            let all = probs.indices.map { "\(name($0)): \(String(format: "%.4f", probs[$0]))" }.joined(separator: ", ")
            return "\(name(best))\t\(all)"
        }
        var o: [String: JSONValue] = [
            "text": .string(text.0), "label": .string(name(best)),
            "probabilities": .object(Dictionary(uniqueKeysWithValues: probs.indices.map { (name($0), JSONValue.number(Double(probs[$0]))) })),
        ]
        if let p = text.1 { o["pair"] = .string(p) }
        return String(decoding: try JSONValue.object(o).serialized(pretty: false), as: UTF8.self)
    }
}

/// `--task` as given, or (when absent) the task the model folder's config names (sequence
/// classification when it names another head or none).
func resolvedTask(_ task: String?, model: String) throws -> ElectraTask {
    let supported: [ElectraTask] = [.sequenceClassification, .tokenClassification, .multipleChoice, .questionAnswering]
    if let task {
        guard let t = ElectraTask(rawValue: task), supported.contains(t) else {
            throw ElectraError("--task must be one of \(supported.map(\.rawValue).joined(separator: ", ")), got '\(task)'")
        }
        return t
    }
    let url = URL(fileURLWithPath: model).appendingPathComponent("config.json")
    guard let config = try? ElectraConfig.load(from: url), let t = try? ElectraTask.fromConfig(config), supported.contains(t) else {
        return .sequenceClassification
    }
    return t
}
